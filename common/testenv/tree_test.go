package testenv

import (
	"fmt"
	"strings"
	"testing"
)

// recorder is a T that records failures instead of failing the test, to
// prove the checkers detect mismatches.
type recorder struct{ msgs []string }

func (r *recorder) Helper()                   {}
func (r *recorder) Fatalf(f string, a ...any) { r.msgs = append(r.msgs, fmt.Sprintf(f, a...)) }
func (r *recorder) Errorf(f string, a ...any) { r.msgs = append(r.msgs, fmt.Sprintf(f, a...)) }
func (r *recorder) failedWith(sub string) bool {
	return len(r.msgs) > 0 && strings.Contains(strings.Join(r.msgs, "\n"), sub)
}

func TestTreeRoundTrip(t *testing.T) {
	dir := t.TempDir()
	tree := Tree{
		"a.txt":      {Content: "A"},
		"bin/run.sh": {Content: "#!/bin/sh\n", Mode: 0o755},
		"empty/":     {},
	}
	WriteTree(t, dir, tree)
	CheckTree(t, dir, tree)
}

func TestCheckTreeDetectsMismatch(t *testing.T) {
	dir := t.TempDir()
	WriteTree(t, dir, Tree{"a.txt": {Content: "A"}, "x.sh": {Content: "s", Mode: 0o644}, "extra": {}})
	for name, tc := range map[string]struct {
		want Tree
		msg  string
	}{
		"content": {Tree{"a.txt": {Content: "B"}, "x.sh": {Content: "s"}, "extra": {}}, "a.txt: content"},
		"mode":    {Tree{"a.txt": {Content: "A"}, "x.sh": {Content: "s", Mode: 0o755}, "extra": {}}, "x.sh: mode"},
		"missing": {Tree{"a.txt": {Content: "A"}, "x.sh": {Content: "s"}, "extra": {}, "b": {}}, "b: missing"},
		"extra":   {Tree{"a.txt": {Content: "A"}, "x.sh": {Content: "s"}}, "extra: unexpected"},
	} {
		t.Run(name, func(t *testing.T) {
			r := &recorder{}
			CheckTree(r, dir, tc.want)
			if !r.failedWith(tc.msg) {
				t.Errorf("CheckTree did not report %q; got %v", tc.msg, r.msgs)
			}
		})
	}
}
