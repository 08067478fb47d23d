package filetree

import (
	"strings"
	"testing"
)

func paths(es []Entry) string {
	var p []string
	for _, e := range es {
		p = append(p, e.Path)
	}
	return strings.Join(p, ",")
}

func TestDiff(t *testing.T) {
	old := []Entry{
		{Path: "z/removed", Size: 1, Mode: 0o644, SHA256: shaHello},
		{Path: "same", Size: 5, Mode: 0o644, SHA256: shaHello},
		{Path: "content", Size: 5, Mode: 0o644, SHA256: shaHello},
		{Path: "mode", Size: 5, Mode: 0o644, SHA256: shaHello},
		{Path: "a/removed", Size: 5, Mode: 0o644, SHA256: shaHello},
		{Path: "size", Size: 5, Mode: 0o644, SHA256: shaHello},
	}
	new := []Entry{
		{Path: "mode", Size: 5, Mode: 0o755, SHA256: shaHello},
		{Path: "content", Size: 5, Mode: 0o644, SHA256: shaWorld},
		{Path: "same", Size: 5, Mode: 0o644, SHA256: shaHello},
		{Path: "new/b", Size: 0, Mode: 0o644, SHA256: shaEmpty},
		{Path: "new/a", Size: 0, Mode: 0o644, SHA256: shaEmpty},
		{Path: "size", Size: 6, Mode: 0o644, SHA256: shaHello},
	}
	ch := Diff(old, new)
	if got := paths(ch.Added); got != "new/a,new/b" {
		t.Errorf("Added = %s", got)
	}
	if got := paths(ch.Changed); got != "content,mode,size" {
		t.Errorf("Changed = %s", got)
	}
	if got := paths(ch.Removed); got != "a/removed,z/removed" {
		t.Errorf("Removed = %s", got)
	}
	if ch.Unchanged != 1 {
		t.Errorf("Unchanged = %d, want 1", ch.Unchanged)
	}
	if ch.Changed[1].Mode != 0o755 || ch.Removed[0].SHA256 != shaHello {
		t.Errorf("Changed carries new entries, Removed old ones: %+v %+v", ch.Changed[1], ch.Removed[0])
	}

	empty := Diff(nil, nil)
	if len(empty.Added)+len(empty.Changed)+len(empty.Removed)+empty.Unchanged != 0 {
		t.Errorf("Diff(nil, nil) = %+v", empty)
	}
	if all := Diff(nil, new); len(all.Added) != len(new) {
		t.Errorf("Diff(nil, new) added %d, want %d", len(all.Added), len(new))
	}
}

func TestNeedContent(t *testing.T) {
	h := func(c byte) string { return strings.Repeat(string(c), 64) }
	old := []Entry{
		{Path: "a", Size: 1, Mode: 0o644, SHA256: h('a')},
		{Path: "b", Size: 1, Mode: 0o644, SHA256: h('b')},
		{Path: "c", Size: 1, Mode: 0o644, SHA256: h('c')},
		{Path: "gone", Size: 1, Mode: 0o644, SHA256: h('d')},
	}
	new := []Entry{
		{Path: "a", Size: 1, Mode: 0o644, SHA256: h('a')}, // unchanged
		{Path: "b", Size: 1, Mode: 0o755, SHA256: h('b')}, // mode only
		{Path: "c", Size: 2, Mode: 0o644, SHA256: h('e')}, // content
		{Path: "new", Size: 1, Mode: 0o644, SHA256: h('f')},
	}
	got := NeedContent(old, new)
	if len(got) != 2 || got[0].Path != "c" || got[1].Path != "new" {
		t.Errorf("NeedContent = %+v, want c and new", got)
	}
	if all := NeedContent(nil, new); len(all) != len(new) {
		t.Errorf("from nothing, every file needs content: %+v", all)
	}
}
