package remote

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/common/filetree"
	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/common/testenv"
)

// resultZip is deltaZip with a list of deletions only (nil: no list).
func resultZip(t *testing.T, files map[string]string, deleted []string) string {
	t.Helper()
	if deleted == nil {
		return deltaZip(t, files, nil)
	}
	return deltaZip(t, files, &protocol.DeltaList{Deleted: deleted})
}

// deltaZip writes a result zip with files (names relative to build/) and,
// when dl is not nil, the delta list.
func deltaZip(t *testing.T, files map[string]string, dl *protocol.DeltaList) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, c := range files {
		w, _ := zw.Create("build/" + name)
		w.Write([]byte(c))
	}
	if dl != nil {
		w, _ := zw.Create(protocol.DeltaListName)
		json.NewEncoder(w).Encode(dl)
	}
	zw.Close()
	p := filepath.Join(t.TempDir(), "result.zip")
	os.WriteFile(p, buf.Bytes(), 0o644)
	return p
}

func TestInstallDeltaEqualsFull(t *testing.T) {
	full := map[string]string{"build.log": "new log", "fw.zip": "PK new", "gen/build_ctx.txt": "ctx", "gen/x.h": "x"}
	for name, tc := range map[string]struct {
		have    map[string]string
		changed map[string]string // what the delta carries
		deleted []string
	}{
		"from nothing": {map[string]string{}, full, []string{}},
		"same":         {full, map[string]string{}, []string{}},
		"older and extra": {
			map[string]string{"build.log": "old", "fw.zip": "PK new", "gen/build_ctx.txt": "ctx", "gen/x.h": "x", "gen/old/stale.h": "s", "mine.txt": "m"},
			map[string]string{"build.log": "new log"},
			[]string{"gen/old/stale.h", "mine.txt"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "build")
			tree := testenv.Tree{}
			for p, c := range tc.have {
				tree[p] = testenv.File{Content: c}
			}
			os.MkdirAll(dir, 0o755)
			testenv.WriteTree(t, dir, tree)
			if err := installDelta(resultZip(t, tc.changed, tc.deleted), dir, false); err != nil {
				t.Fatal(err)
			}
			want := testenv.Tree{}
			for p, c := range full {
				want[p] = testenv.File{Content: c}
			}
			testenv.CheckTree(t, dir, want)
		})
	}
}

func TestInstallDeltaKeepAndHostileList(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "build")
	os.MkdirAll(dir, 0o755)
	testenv.WriteTree(t, dir, testenv.Tree{"mine.txt": {Content: "m"}, "fw.zip": {Content: "old"}})
	if err := installDelta(resultZip(t, map[string]string{"fw.zip": "new"}, []string{"mine.txt"}), dir, true); err != nil {
		t.Fatal(err)
	}
	testenv.CheckTree(t, dir, testenv.Tree{"mine.txt": {Content: "m"}, "fw.zip": {Content: "new"}})

	outside := filepath.Join(filepath.Dir(dir), "victim")
	os.WriteFile(outside, []byte("v"), 0o644)
	err := installDelta(resultZip(t, map[string]string{"fw.zip": "newer"}, []string{"../victim"}), dir, false)
	if err == nil || !strings.Contains(err.Error(), `".." component`) {
		t.Errorf("err = %v, want a refused path", err)
	}
	if _, err := os.Stat(outside); err != nil {
		t.Error("a hostile delta list removed a file outside the build dir")
	}
	testenv.CheckTree(t, dir, testenv.Tree{"mine.txt": {Content: "m"}, "fw.zip": {Content: "new"}})
	if err := installDelta(resultZip(t, map[string]string{"fw.zip": "x"}, nil), dir, false); err == nil {
		t.Error("a delta without its list was accepted")
	}
}

func TestDescribeAndHave(t *testing.T) {
	dir := t.TempDir()
	testenv.WriteTree(t, dir, testenv.Tree{
		"app/src/a.c":          {Content: "int a;"},
		"app/tools/x.py":       {Content: "#!/bin/sh\n", Mode: 0o644},
		"build/fw.zip":         {Content: "PK"},
		"build/gen/ctx.txt":    {Content: "c"},
		"build/.mos-result-1/": {},
	})
	files := []*upFile{
		{name: "mos.yml", data: []byte("name: a\n"), mode: 0o644, size: 8},
		{name: "src/a.c", path: filepath.Join(dir, "app/src/a.c"), mode: 0o644, size: 6},
		{name: "tools/x.py", path: filepath.Join(dir, "app/tools/x.py"), mode: 0o755, size: 10},
	}
	cache := filetree.NewHashCache()
	entries, byHash, err := describe(files, cache)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 || entries[2].Path != "tools/x.py" || entries[2].Mode != 0o755 || entries[0].Size != 8 {
		t.Errorf("entries %+v (the upload mode, not the disk's, is sent)", entries)
	}
	for _, e := range entries {
		if strings.Contains(e.Path, `\`) || byHash[e.SHA256] == nil {
			t.Errorf("entry %+v", e)
		}
	}
	if cache.Len() != 2 {
		t.Errorf("hash cache holds %d files, want the 2 on disk", cache.Len())
	}
	have, err := haveList(filepath.Join(dir, "build"), cache)
	if err != nil {
		t.Fatal(err)
	}
	if len(have) != 2 || have[0].Path != "fw.zip" || have[1].Path != "gen/ctx.txt" {
		t.Errorf("have %+v", have)
	}
	if none, err := haveList(filepath.Join(dir, "nope"), cache); err != nil || len(none) != 0 {
		t.Errorf("no build dir: %v %v", none, err)
	}
}

func TestInstallDeltaCopies(t *testing.T) {
	fw := "PK firmware"
	fwSum := sha256Hex(fw)
	logSum := sha256Hex("kept log")
	dir := filepath.Join(t.TempDir(), "build")
	os.MkdirAll(dir, 0o755)
	testenv.WriteTree(t, dir, testenv.Tree{"build.log": {Content: "kept log"}, "fw.zip": {Content: "old"}})
	dl := &protocol.DeltaList{Deleted: []string{}, Copies: []protocol.DeltaCopy{
		{Path: "fw.zip", From: "fw/app-last.zip", Mode: 0o644, SHA256: fwSum},   // from the result
		{Path: "logs/copy.log", From: "build.log", Mode: 0o755, SHA256: logSum}, // from what the client kept
	}}
	if err := installDelta(deltaZip(t, map[string]string{"fw/app-last.zip": fw}, dl), dir, false); err != nil {
		t.Fatal(err)
	}
	testenv.CheckTree(t, dir, testenv.Tree{
		"build.log": {Content: "kept log"}, "fw/app-last.zip": {Content: fw},
		"fw.zip": {Content: fw, Mode: 0o644}, "logs/copy.log": {Content: "kept log", Mode: 0o755},
	})

	for name, c := range map[string]protocol.DeltaCopy{
		"wrong hash":   {Path: "fw.zip", From: "build.log", Mode: 0o644, SHA256: fwSum},
		"path outside": {Path: "../victim", From: "build.log", Mode: 0o644, SHA256: logSum},
		"from outside": {Path: "x", From: "../../etc/passwd", Mode: 0o644, SHA256: logSum},
		"from nothing": {Path: "x", From: "absent", Mode: 0o644, SHA256: logSum},
	} {
		t.Run(name, func(t *testing.T) {
			dl := &protocol.DeltaList{Deleted: []string{"build.log"}, Copies: []protocol.DeltaCopy{c}}
			err := installDelta(deltaZip(t, map[string]string{"gen/new.h": "n"}, dl), dir, false)
			if err == nil || !strings.Contains(err.Error(), "copy "+c.Path) {
				t.Fatalf("err = %v, want a refused copy", err)
			}
			// Nothing was applied: not the files, not the deletions.
			if _, err := os.Stat(filepath.Join(dir, "gen", "new.h")); err == nil {
				t.Error("the delta's files were installed despite a bad copy")
			}
			if _, err := os.Stat(filepath.Join(dir, "build.log")); err != nil {
				t.Error("deletions were applied despite a bad copy")
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "victim")); err == nil {
				t.Error("a copy was written outside the build dir")
			}
		})
	}
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
