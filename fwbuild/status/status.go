// Package status renders fwbuild-manager's status page: the builds
// running and queued, the last builds answered, the build contexts on
// disk and the disk they use. It is one HTML page from html/template with
// no script and no build step; the browser reloads it (meta refresh).
package status

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"time"

	"github.com/mongoose-os/mos/common/protocol"
)

// Page is what the page shows.
type Page struct {
	Server  string // e.g. "fwbuild-manager (mos 2.20.0)"
	Now     time.Time
	Refresh int // seconds between reloads; 0: none

	Slots    int // --max-concurrent-builds
	Live     []Build
	Recent   []Build
	Contexts []Context
	Disk     Disk
	// Notes are short remarks shown under the title (e.g. an error
	// listing the contexts).
	Notes []string
	// Verify is what verification of incremental builds found; nil when
	// it is off (--verify-fraction 0).
	Verify *Verify
	// Logins are the refused logins; nil on a server without accounts.
	Logins *Logins
}

// Logins counts refused logins (wrong user or password) and lists the
// last ones, newest first. No password is ever kept.
type Logins struct {
	Refused int64
	Last    []Login
}

// Login is one refused login.
type Login struct {
	User string
	At   time.Time
	From string
}

// Verify is what clean rebuilds of incremental builds found.
type Verify struct {
	Fraction                                   float64
	Equal, Mismatches, Errors, Skipped, Queued int64
	// Recent are the last mismatches, newest first.
	Recent []Mismatch
}

// Mismatch is one incremental build its clean rebuild disagreed with.
type Mismatch struct {
	At                           time.Time
	Version, App, Platform, Name string
	First                        string // the first difference, "gen/conf0.json: ..."
	Diffs                        int
}

// Build is one build request.
type Build struct {
	App, Platform, Context, User string
	// State is a protocol.State* value; Position the place in the queue
	// (queued only); Step the last step line of make ("CC src/main.c").
	State    string
	Position int
	Step     string
	Arrived  time.Time
	Ended    time.Time // answered (zero while live)
	// QueueWait and BuildTime so far; Took from arrival to the answer.
	QueueWait, BuildTime, Took time.Duration
	Status                     int // HTTP status answered (0 while live)
	BytesIn, BytesOut          int64
	Files, Sent                int // files in the upload, contents sent
	Delta                      bool
	// Compiled counts compile steps (CC, CXX, AS lines of make's
	// output); Cached how many of them ccache answered from its cache
	// (the build's ccache-stats.log); Total the expected count while
	// live, an estimate when Estimated.
	Compiled, Total, Cached int
	Estimated               bool
	// Adopted says where a context that did not exist came from: a copy
	// of the nearest context, or a stock client's line of builds.
	Adopted string
}

// Context is one build context on disk.
type Context struct {
	Version, App, Platform, Name string
	Size                         int64
	LastUse                      time.Time
	InUse                        bool   // a live build is on it
	Owner                        string // "user:alice", "team:fw"; "" anonymous
}

// Disk is the space the server's data takes.
type Disk struct {
	Contexts, BlobStore, BlobStoreMax int64
	// The volumes dir's file system (0 when unknown).
	FSUsed, FSSize, FSFree int64
}

//go:embed page.html
var files embed.FS

var page = template.Must(template.New("page.html").Funcs(template.FuncMap{
	"bytes":    Bytes,
	"duration": Duration,
	"ago":      func(now, t time.Time) string { return Ago(now, t) },
	"percent": func(part, whole int64) string {
		if whole <= 0 {
			return ""
		}
		return fmt.Sprintf("%.0f%%", 100*float64(part)/float64(whole))
	},
	"result": Result,
	"share":  func(f float64) string { return fmt.Sprintf("%g%%", 100*f) },
	"class":  resultClass,
	"sub":    func(a, b int) int { return a - b },
	"pct": func(part, whole int) int {
		if whole <= 0 {
			return 0
		}
		return min(99, 100*part/whole)
	},
	"running": func(bs []Build) []Build { return withState(bs, protocol.StateBuilding) },
	"queued":  func(bs []Build) []Build { return withState(bs, protocol.StateQueued) },
}).ParseFS(files, "page.html"))

func withState(bs []Build, state string) []Build {
	var out []Build
	for _, b := range bs {
		if b.State == state {
			out = append(out, b)
		}
	}
	return out
}

// Render writes the page.
func Render(w io.Writer, p Page) error { return page.Execute(w, p) }

// Handler serves the page made by get at each request.
func Handler(get func(r *http.Request) Page) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := get(r)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		// No script, no frames, no outside resources.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
		if r.Method == http.MethodHead {
			return
		}
		_ = Render(w, p)
	})
}

// Bytes is n in B, KB, MB, GB (powers of 1024).
func Bytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// Duration is d rounded for people: 850ms, 12.3s, 4m05s, 2h10m.
func Duration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// Ago is how long before now t was ("5s ago"; "never" for a zero t).
func Ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	if d < time.Second {
		return "just now"
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm ago", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

// Result names an HTTP status as a build result.
func Result(status int) string {
	switch status {
	case 200:
		return "200 built"
	case 418:
		return "418 failed"
	case 400:
		return "400 refused"
	case 401:
		return "401 unauthorized"
	case 403:
		return "403 forbidden"
	case 408:
		return "408 upload too slow"
	case 409:
		return "409 contents missing"
	case 413:
		return "413 too large"
	case 0:
		return ""
	}
	return fmt.Sprintf("%d %s", status, http.StatusText(status))
}

func resultClass(status int) string {
	switch {
	case status == 200:
		return "ok"
	case status == 418:
		return "failed"
	case status == 409:
		return "retry"
	}
	return "error"
}
