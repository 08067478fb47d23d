// Package progress shows what a remote build is doing. On a terminal it
// is one line that keeps changing (a byte bar while uploading and
// downloading, a spinner with the build's current step while the server
// builds), drawn by github.com/schollz/progressbar, with the build's
// other messages printed above it. Elsewhere (CI, a pipe, --verbose) it
// prints plain lines: each change of state once and every step line.
//
// A nil *Display shows nothing, so callers need not check.
package progress

import (
	"bytes"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Display shows progress on one writer; its methods may be called from
// several goroutines.
type Display struct {
	mu       sync.Mutex
	w        io.Writer
	terminal bool
	width    int // terminal columns

	bar     *progressbar.ProgressBar // terminal: the line shown now
	barKind string                   // "transfer" or "status"
	status  string                   // plain: the last status printed
	partial []byte                   // Write: an unfinished line
}

// New returns a Display writing to w; terminal draws one updating line,
// else plain lines are printed.
func New(w io.Writer, terminal bool) *Display {
	d := &Display{w: w, terminal: terminal, width: 80}
	if f, ok := w.(*os.File); ok && terminal {
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 20 {
			d.width = cols
		}
	}
	return d
}

// IsTerminal reports whether w is a terminal that can redraw a line (not
// TERM=dumb).
func IsTerminal(w io.Writer, getenv func(string) string) bool {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return false
	}
	return getenv("TERM") != "dumb"
}

// Write prints whole lines (above the updating line on a terminal); an
// unfinished last line waits for the rest or for Close.
func (d *Display) Write(p []byte) (int, error) {
	if d == nil {
		return len(p), nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	data := append(d.partial, p...)
	d.partial = nil
	i := bytes.LastIndexByte(data, '\n')
	if i < 0 {
		d.partial = data
		return len(p), nil
	}
	d.partial = append([]byte(nil), data[i+1:]...)
	d.printLocked(string(data[:i+1]))
	return len(p), nil
}

// Println prints one line (above the updating line on a terminal).
func (d *Display) Println(line string) {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.printLocked(line + "\n")
}

// printLocked prints text (whole lines); d.mu is held.
func (d *Display) printLocked(text string) {
	if d.bar != nil {
		// Cleared, printed, and the bar drawn again below.
		_ = d.bar.Clear()
		io.WriteString(d.w, text)
		_ = d.bar.RenderBlank()
		return
	}
	io.WriteString(d.w, text)
}

// Status says what the build is doing ("Queued on the server (position
// 2)"). On a terminal it is the updating line; plain, it is printed when
// it changes.
func (d *Display) Status(text string) {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.terminal {
		if text != d.status {
			d.status = text
			io.WriteString(d.w, text+"\n")
		}
		return
	}
	d.status = text
	if d.barKind != "status" {
		d.endBarLocked()
		d.bar = progressbar.NewOptions64(-1,
			progressbar.OptionSetWriter(d.w),
			progressbar.OptionSetDescription(d.fit(text)),
			progressbar.OptionSpinnerType(14),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionSetPredictTime(false),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionUseANSICodes(true),
			progressbar.OptionSetWidth(10),
			// No spinner goroutine: every draw happens under d.mu, so
			// printed lines and the bar never interleave. Callers
			// update the status often enough (each poll).
			progressbar.OptionSetSpinnerChangeInterval(0),
		)
		d.barKind = "status"
		_ = d.bar.RenderBlank()
		return
	}
	d.bar.Describe(d.fit(text))
}

// Step shows a step of the build ("CC src/main.c"), with the count of
// files compiled and, when total is known (not 0), the total and the
// share done: "37/140 26%", or "37/~140 26%" when total is an estimate.
// The share stops at 99% until the build ends. Plain, each step is
// printed on a line of its own.
func (d *Display) Step(prefix, line string, n, total int, estimated bool) {
	if d == nil {
		return
	}
	if !d.terminal {
		d.mu.Lock()
		io.WriteString(d.w, "  "+line+"\n")
		d.mu.Unlock()
		return
	}
	d.Status(prefix + " " + StepCount(n, total, estimated) + line)
}

// StepCount is the count part of a step's status, with a trailing space
// ("" before the first compile).
func StepCount(n, total int, estimated bool) string {
	switch {
	case n > 0 && total > 0:
		tilde := ""
		if estimated {
			tilde = "~"
		}
		if total < n {
			total = n
		}
		return strconv.Itoa(n) + "/" + tilde + strconv.Itoa(total) + " " + strconv.Itoa(min(99, 100*n/total)) + "% "
	case n > 0:
		return strconv.Itoa(n) + " "
	}
	return ""
}

// Transfer starts a byte count of total bytes (0 or less: unknown) under
// label ("Uploading"). On a terminal it is a progress bar; plain, it shows
// nothing (the callers print what they send).
func (d *Display) Transfer(label string, total int64) *Transfer {
	if d == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	t := &Transfer{d: d}
	if !d.terminal {
		return t
	}
	d.endBarLocked()
	if total <= 0 {
		total = -1
	}
	t.bar = progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(d.w),
		progressbar.OptionSetDescription(label),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(min(30, max(10, d.width-60))),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionUseANSICodes(true),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionSetSpinnerChangeInterval(0),
	)
	d.bar, d.barKind = t.bar, "transfer"
	_ = t.bar.RenderBlank()
	return t
}

// Refresh draws the terminal line again (its clock and spinner move on).
func (d *Display) Refresh() {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.bar != nil && d.barKind == "status" {
		d.bar.Describe(d.fit(d.status))
	}
}

// EndLine clears the updating line, if any; the next Status or Transfer
// starts a new one.
func (d *Display) EndLine() {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.endBarLocked()
}

// Close ends the updating line (clearing it) and prints what Write holds
// of an unfinished line.
func (d *Display) Close() {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.endBarLocked()
	if len(d.partial) > 0 {
		io.WriteString(d.w, string(d.partial)+"\n")
		d.partial = nil
	}
}

// endBarLocked clears the terminal line; d.mu is held.
func (d *Display) endBarLocked() {
	if d.bar == nil {
		return
	}
	_ = d.bar.Finish() // with OptionClearOnFinish: clears the line
	_ = d.bar.Clear()
	d.bar, d.barKind = nil, ""
}

// fit shortens text to the terminal's width less the spinner's room,
// keeping its end (a path's file name).
func (d *Display) fit(text string) string {
	room := d.width - 25
	if room < 20 {
		room = 20
	}
	if len(text) <= room {
		return text
	}
	head := room / 3
	return text[:head] + "..." + text[len(text)-(room-head-3):]
}

// Transfer counts the bytes of one upload or download.
type Transfer struct {
	d   *Display
	bar *progressbar.ProgressBar
}

// Add counts n more bytes.
func (t *Transfer) Add(n int64) {
	if t == nil {
		return
	}
	t.d.mu.Lock()
	defer t.d.mu.Unlock()
	if t.bar != nil && t.d.bar == t.bar {
		_ = t.bar.Add64(n)
	}
}

// Done ends the transfer (its bar goes).
func (t *Transfer) Done() {
	if t == nil || t.bar == nil {
		return
	}
	t.d.mu.Lock()
	defer t.d.mu.Unlock()
	if t.d.bar == t.bar {
		t.d.endBarLocked()
	}
	t.bar = nil
}

// Reader counts what is read through r.
func (t *Transfer) Reader(r io.Reader) io.Reader {
	if t == nil {
		return r
	}
	return readerFunc(func(p []byte) (int, error) {
		n, err := r.Read(p)
		t.Add(int64(n))
		return n, err
	})
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }
