package filetree

import "sort"

// Changes is the difference between two listings.
type Changes struct {
	Added   []Entry // in new only (new's entries)
	Changed []Entry // in both, content (SHA-256 or size) or mode differ (new's entries)
	Removed []Entry // in old only (old's entries)
	// Unchanged counts files equal in both.
	Unchanged int
}

// Diff compares listings old and new, as List makes them (unique paths; if
// a path repeats, its last entry counts). Each slice of the result is
// sorted by path.
func Diff(old, new []Entry) Changes {
	var ch Changes
	before := make(map[string]Entry, len(old))
	for _, e := range old {
		before[e.Path] = e
	}
	after := make(map[string]Entry, len(new))
	for _, e := range new {
		after[e.Path] = e
	}
	for p, e := range after {
		o, ok := before[p]
		switch {
		case !ok:
			ch.Added = append(ch.Added, e)
		case !sameContent(o, e) || o.Mode.Perm() != e.Mode.Perm():
			ch.Changed = append(ch.Changed, e)
		default:
			ch.Unchanged++
		}
	}
	for p, e := range before {
		if _, ok := after[p]; !ok {
			ch.Removed = append(ch.Removed, e)
		}
	}
	for _, s := range [][]Entry{ch.Added, ch.Changed, ch.Removed} {
		sort.Slice(s, func(i, j int) bool { return s[i].Path < s[j].Path })
	}
	return ch
}

func sameContent(a, b Entry) bool { return a.SHA256 == b.SHA256 && a.Size == b.Size }

// NeedContent returns the entries of new whose content dst must receive to
// go from old to new: added files and files whose content changed (a
// mode-only change needs no content), in path order.
func NeedContent(old, new []Entry) []Entry {
	ch := Diff(old, new)
	prev := make(map[string]Entry, len(old))
	for _, e := range old {
		prev[e.Path] = e
	}
	need := append([]Entry{}, ch.Added...)
	for _, e := range ch.Changed {
		if !sameContent(prev[e.Path], e) {
			need = append(need, e)
		}
	}
	sort.Slice(need, func(i, j int) bool { return need[i].Path < need[j].Path })
	return need
}
