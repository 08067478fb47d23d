// Package history keeps what the status page shows of the past: the last
// builds answered, in a bounded file of the volumes dir so that a restart
// does not lose them, and the refused logins (in memory: a count and the
// last few, user name and time, never a password).
package history

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"sync"
	"time"
)

// FileName is the history file in the volumes dir.
const FileName = "status-history.json"

// maxFileSize bounds what Load reads: a file bigger than any Save writes
// is not ours to trust.
const maxFileSize = 4 << 20

// Build is one answered build request, as the status page lists it.
type Build struct {
	Version   string        `json:"version,omitempty"`
	App       string        `json:"app,omitempty"`
	Platform  string        `json:"platform,omitempty"`
	Context   string        `json:"context,omitempty"`
	User      string        `json:"user,omitempty"`
	Arrived   time.Time     `json:"arrived"`
	Ended     time.Time     `json:"ended"`
	QueueWait time.Duration `json:"queue_wait,omitempty"`
	BuildTime time.Duration `json:"build_time,omitempty"`
	Status    int           `json:"status"`
	BytesIn   int64         `json:"bytes_in,omitempty"`
	BytesOut  int64         `json:"bytes_out,omitempty"`
	Files     int           `json:"files,omitempty"`
	Sent      int           `json:"sent,omitempty"`
	Delta     bool          `json:"delta,omitempty"`
	Ran       bool          `json:"ran,omitempty"` // make was started
	// Steps counts the compile steps of the build's output (CC, CXX, AS
	// lines); Cached how many of them ccache answered from its cache.
	Steps  int `json:"steps,omitempty"`
	Cached int `json:"cached,omitempty"`
}

// File is the bounded history file of one server. Save and Load may be
// called from many goroutines.
type File struct {
	root *os.Root
	max  int
	mu   sync.Mutex
	seq  int
}

// Open returns the history file in dir, keeping the last max builds.
func Open(dir string, max int) (*File, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("status history in %s: %w", dir, err)
	}
	return &File{root: root, max: max}, nil
}

// Close releases the volumes dir.
func (f *File) Close() error { return f.root.Close() }

// Load returns the builds saved, oldest first; none when there is no file
// yet. A file that cannot be read as ours is an error (the caller starts
// with none and the next Save replaces it).
func (f *File) Load() ([]Build, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, err := f.root.Open(FileName)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("status history: %w", err)
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("status history %s: %w", FileName, err)
	}
	if len(b) > maxFileSize {
		return nil, fmt.Errorf("status history %s: over %d bytes, not written by this server", FileName, maxFileSize)
	}
	var doc struct {
		Builds []Build `json:"builds"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("status history %s: %w", FileName, err)
	}
	if len(doc.Builds) > f.max {
		doc.Builds = doc.Builds[len(doc.Builds)-f.max:]
	}
	return doc.Builds, nil
}

// Save replaces the file with the last max of builds (oldest first).
//
// Recovery: the new content goes to a temp file of its own, is synced,
// then renamed over the old one and the dir synced. A crash before the
// rename leaves the old file whole (and a stray temp file, removed by the
// next Save that gets its name or left, bounded by one per crash); after
// it, the new one. A reader never sees half a file.
func (f *File) Save(builds []Build) error {
	if len(builds) > f.max {
		builds = builds[len(builds)-f.max:]
	}
	b, err := json.MarshalIndent(struct {
		Builds []Build `json:"builds"`
	}{builds}, "", " ")
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	tmp := FileName + ".tmp" + strconv.Itoa(os.Getpid()) + "-" + strconv.Itoa(f.seq)
	w, err := f.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("status history: %w", err)
	}
	_, err = w.Write(b)
	if err == nil {
		err = w.Sync()
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = f.root.Rename(tmp, FileName)
	}
	if err != nil {
		_ = f.root.Remove(tmp)
		return fmt.Errorf("status history %s: %w", FileName, err)
	}
	if d, err := f.root.Open("."); err == nil {
		_ = d.Sync() // the rename durable; a failure here loses at most this save
		d.Close()
	}
	return nil
}

// Login is one refused login.
type Login struct {
	User string // "" when the request gave none
	At   time.Time
	From string // the client's address
}

// Logins counts refused logins and keeps the last few.
type Logins struct {
	mu    sync.Mutex
	keep  int
	count int64
	last  []Login // oldest first
}

// NewLogins keeps the last keep refused logins.
func NewLogins(keep int) *Logins { return &Logins{keep: keep} }

// Refused records a refused login of user (never its password).
func (l *Logins) Refused(user, from string, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.count++
	l.last = append(l.last, Login{User: user, At: at, From: from})
	if over := len(l.last) - l.keep; over > 0 {
		l.last = append([]Login(nil), l.last[over:]...)
	}
}

// Snapshot returns the count and the last refused logins, newest first.
func (l *Logins) Snapshot() (int64, []Login) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Login, len(l.last))
	for i, x := range l.last {
		out[len(l.last)-1-i] = x
	}
	return l.count, out
}
