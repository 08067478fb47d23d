package protocol

import (
	"reflect"
	"testing"

	"github.com/mongoose-os/mos/common/filetree"
)

func TestListingDiffApply(t *testing.T) {
	base := []filetree.Entry{
		{Path: "mos.yml", Size: 3, Mode: 0o644, SHA256: "a"},
		{Path: "src/main.c", Size: 5, Mode: 0o644, SHA256: "b"},
		{Path: "tools/x.py", Size: 7, Mode: 0o755, SHA256: "c"},
	}
	cur := []filetree.Entry{
		{Path: "tools/x.py", Size: 7, Mode: 0o644, SHA256: "c"}, // mode changed
		{Path: "mos.yml", Size: 3, Mode: 0o644, SHA256: "a"},
		{Path: "src/new.c", Size: 1, Mode: 0o644, SHA256: "d"},
	}
	set, removed := DiffListing(base, cur, EntryPath)
	if len(set) != 2 || set[0].Path != "src/new.c" || set[1].Path != "tools/x.py" || !reflect.DeepEqual(removed, []string{"src/main.c"}) {
		t.Fatalf("diff: set %v, removed %v", set, removed)
	}
	got := ApplyListing(base, set, removed, EntryPath)
	if ListingDigest(got) != ListingDigest(cur) {
		t.Errorf("applied %v, want %v", got, cur)
	}
	// The digest does not depend on order, and sees every field.
	if ListingDigest(base) == ListingDigest(cur) {
		t.Error("different listings, same digest")
	}
	rev := []filetree.Entry{cur[2], cur[0], cur[1]}
	if ListingDigest(rev) != ListingDigest(cur) {
		t.Error("the digest depends on the order of entries")
	}
	for _, change := range []func(*filetree.Entry){
		func(e *filetree.Entry) { e.Size++ },
		func(e *filetree.Entry) { e.Mode = 0o755 },
		func(e *filetree.Entry) { e.SHA256 = "z" },
		func(e *filetree.Entry) { e.Path = "mos.yaml" },
	} {
		c := append([]filetree.Entry(nil), cur...)
		change(&c[1])
		if ListingDigest(c) == ListingDigest(cur) {
			t.Errorf("a change to %+v leaves the digest as it was", c[1])
		}
	}
	h1 := []HaveEntry{{"fw.zip", "1"}, {"objs/a.o", "2"}}
	h2 := []HaveEntry{{"objs/a.o", "3"}}
	hs, hr := DiffListing(h1, h2, HavePath)
	if HaveDigest(ApplyListing(h1, hs, hr, HavePath)) != HaveDigest(h2) || HaveDigest(h1) == HaveDigest(h2) {
		t.Errorf("have diff %v %v", hs, hr)
	}
}
