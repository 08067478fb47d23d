// Command testsummary runs `go test -json ARGS...`, prints what a plain
// `go test ARGS...` prints (package results, and the output of failed
// tests), then what was skipped and why, grouped by test and reason, and a
// closing `N passed, N failed, N skipped` line, so a green run that
// skipped a suite says so. It exits with go test's exit code. `make test`
// runs it.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
)

func main() {
	goBin := os.Getenv("GO")
	if goBin == "" {
		goBin = "go"
	}
	cmd := exec.Command(goBin, append([]string{"test", "-json"}, os.Args[1:]...)...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintf(os.Stderr, "testsummary: %v\n", err)
		os.Exit(1)
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "testsummary: running %s test: %v\n", goBin, err)
		os.Exit(1)
	}
	s := newSummary(os.Stdout)
	readErr := s.Read(stdout)
	waitErr := cmd.Wait()
	s.Finish()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(waitErr, &ee):
		code = ee.ExitCode()
	case waitErr != nil:
		fmt.Fprintf(os.Stderr, "testsummary: %v\n", waitErr)
		code = 1
	}
	if readErr != nil {
		fmt.Fprintf(os.Stderr, "testsummary: reading go test's output: %v\n", readErr)
		code = 1
	}
	if code == 0 && s.failed > 0 {
		code = 1
	}
	os.Exit(code)
}

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action     string
	Package    string
	Test       string
	Output     string
	ImportPath string // build-output / build-fail events
}

type testKey struct{ pkg, test string }

// skipGroup is the skipped tests of one package, top-level test and reason.
type skipGroup struct {
	pkg, test, reason string
	count             int
}

// summary turns go test's events into its usual output plus the skip
// summary.
type summary struct {
	out                     io.Writer
	buf                     map[testKey][]string // output of tests still running
	skips                   map[string]*skipGroup
	passed, failed, skipped int
}

func newSummary(out io.Writer) *summary {
	return &summary{out: out, buf: map[testKey][]string{}, skips: map[string]*skipGroup{}}
}

// Read consumes a `go test -json` stream; a line that is not an event
// (go test prints some errors as text) is printed as it is.
func (s *summary) Read(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			fmt.Fprintf(s.out, "%s\n", line)
			continue
		}
		s.Event(e)
	}
	return sc.Err()
}

// Event handles one event.
func (s *summary) Event(e event) {
	switch {
	case e.Action == "build-output":
		io.WriteString(s.out, e.Output)
		return
	case e.Test == "":
		s.packageEvent(e)
		return
	}
	k := testKey{e.Package, e.Test}
	switch e.Action {
	case "output":
		s.buf[k] = append(s.buf[k], e.Output)
	case "pass":
		s.passed++
		delete(s.buf, k)
	case "fail":
		s.failed++
		s.flush(k)
	case "skip":
		s.skipped++
		s.addSkip(e.Package, e.Test, reason(s.buf[k]))
		delete(s.buf, k)
	}
}

func (s *summary) packageEvent(e event) {
	switch e.Action {
	case "output":
		// A plain go test prints a passing package's result line only.
		if e.Output == "PASS\n" || strings.HasPrefix(e.Output, "=== ") {
			return
		}
		io.WriteString(s.out, e.Output)
	case "fail":
		// A panic or timeout ends tests without their own result: show
		// what they printed.
		var left []testKey
		for k := range s.buf {
			if k.pkg == e.Package {
				left = append(left, k)
			}
		}
		sort.Slice(left, func(i, j int) bool { return left[i].test < left[j].test })
		for _, k := range left {
			s.flush(k)
		}
	}
}

// flush prints a failed test's output as a plain go test does (without
// the === lines of -json's verbose mode).
func (s *summary) flush(k testKey) {
	for _, l := range s.buf[k] {
		if !isFrameLine(l) {
			io.WriteString(s.out, l)
		}
	}
	delete(s.buf, k)
}

func isFrameLine(l string) bool {
	t := strings.TrimSpace(l)
	for _, p := range []string{"=== RUN", "=== PAUSE", "=== CONT", "=== NAME"} {
		if strings.HasPrefix(t, p) {
			return true
		}
	}
	return false
}

// logPrefix is the file:line a t.Log / t.Skip line starts with.
var logPrefix = regexp.MustCompile(`^[\w.-]+\.go:\d+: `)

// reason is what a skipped test said: its log lines without the file:line
// prefixes and the --- SKIP line, joined with "; ".
func reason(lines []string) string {
	var parts []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || isFrameLine(l) || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		parts = append(parts, logPrefix.ReplaceAllString(t, ""))
	}
	if len(parts) == 0 {
		return "no reason given"
	}
	return strings.Join(parts, "; ")
}

func (s *summary) addSkip(pkg, test, why string) {
	top, _, _ := strings.Cut(test, "/")
	key := pkg + "\x00" + top + "\x00" + why
	g := s.skips[key]
	if g == nil {
		g = &skipGroup{pkg: pkg, test: top, reason: why}
		s.skips[key] = g
	}
	g.count++
}

// Finish prints the skip summary and the closing counts.
func (s *summary) Finish() {
	groups := make([]*skipGroup, 0, len(s.skips))
	for _, g := range s.skips {
		groups = append(groups, g)
	}
	sort.Slice(groups, func(i, j int) bool {
		a, b := groups[i], groups[j]
		if a.pkg != b.pkg {
			return a.pkg < b.pkg
		}
		if a.test != b.test {
			return a.test < b.test
		}
		return a.reason < b.reason
	})
	if len(groups) > 0 {
		fmt.Fprintf(s.out, "\nSkipped:\n")
		for _, g := range groups {
			what := g.test
			if g.count > 1 {
				what = fmt.Sprintf("%s: %d tests", g.test, g.count)
			}
			fmt.Fprintf(s.out, "  %s %s skipped: %s\n", shortPkg(g.pkg), what, g.reason)
		}
	}
	fmt.Fprintf(s.out, "\n%d passed, %d failed, %d skipped\n", s.passed, s.failed, s.skipped)
}

func shortPkg(p string) string {
	return strings.TrimPrefix(p, "github.com/mongoose-os/mos/")
}
