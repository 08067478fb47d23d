package filetree

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestIndexRoundTrip(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "build_ctx_index.json")
	es := []Entry{
		{Path: "src/main.c", Size: 5, Mode: 0o644, SHA256: shaHello},
		{Path: "mos.yml", Size: 5, Mode: 0o644, SHA256: shaWorld},
		{Path: "tools/x.py", Size: 0, Mode: 0o755, SHA256: shaEmpty},
	}
	if err := WriteIndex(p, es); err != nil {
		t.Fatal(err)
	}
	got, err := ReadIndex(p)
	if err != nil {
		t.Fatal(err)
	}
	checkEntries(t, got, []Entry{es[1], es[0], es[2]})
	b, _ := os.ReadFile(p)
	if !strings.Contains(string(b), `"path": "mos.yml"`) || !strings.Contains(string(b), `"version": 1`) {
		t.Errorf("index is not the documented JSON:\n%s", b)
	}

	// Overwriting replaces the whole file and leaves no temp file behind.
	if err := WriteIndex(p, es[:1]); err != nil {
		t.Fatal(err)
	}
	got, err = ReadIndex(p)
	if err != nil || len(got) != 1 {
		t.Errorf("after rewrite: %v %+v", err, got)
	}
	if names := dirNames(t, dir); names != "build_ctx_index.json" {
		t.Errorf("dir holds %s", names)
	}
	// An empty listing is a valid index.
	if err := WriteIndex(p, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadIndex(p); err != nil || len(got) != 0 {
		t.Errorf("empty index: %v %+v", err, got)
	}
}

func TestReadIndexMissing(t *testing.T) {
	_, err := ReadIndex(filepath.Join(t.TempDir(), "none.json"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadIndex of a missing file = %v, want fs.ErrNotExist", err)
	}
}

func TestIndexRefusesBadListings(t *testing.T) {
	ok := Entry{Path: "ok", Size: 5, Mode: 0o644, SHA256: shaHello}
	bad := []struct {
		name    string
		entries []Entry
		badPath bool
	}{
		{"parent", []Entry{ok, {Path: "../outside", SHA256: shaHello}}, true},
		{"deep_parent", []Entry{{Path: "a/../../x", SHA256: shaHello}}, true},
		{"absolute", []Entry{{Path: "/etc/passwd", SHA256: shaHello}}, true},
		{"drive", []Entry{{Path: "C:/x", SHA256: shaHello}}, true},
		{"backslash", []Entry{{Path: `..\x`, SHA256: shaHello}}, true},
		{"empty_component", []Entry{{Path: "a//b", SHA256: shaHello}}, true},
		{"dot", []Entry{{Path: "./a", SHA256: shaHello}}, true},
		{"empty", []Entry{{Path: "", SHA256: shaHello}}, true},
		{"duplicate", []Entry{ok, ok}, true},
		{"file_and_dir", []Entry{ok, {Path: "ok/x", SHA256: shaHello}}, true},
		{"bad_sha", []Entry{{Path: "a", SHA256: "1234"}}, false},
		{"upper_sha", []Entry{{Path: "a", SHA256: strings.ToUpper(shaHello)}}, false},
		{"mode_type_bits", []Entry{{Path: "a", SHA256: shaHello, Mode: fs.ModeSymlink | 0o777}}, false},
		{"negative_size", []Entry{{Path: "a", SHA256: shaHello, Size: -1}}, false},
	}
	dir := t.TempDir()
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, c.name+".json")
			err := WriteIndex(p, c.entries)
			if err == nil || (c.badPath && !errors.Is(err, ErrBadPath)) {
				t.Errorf("WriteIndex = %v, want a refusal (ErrBadPath: %v)", err, c.badPath)
			}
			if _, serr := os.Stat(p); serr == nil {
				t.Errorf("refused index was written")
			}
			// Same listing hand-written: ReadIndex refuses it as malformed.
			os.WriteFile(p, []byte(indexJSON(c.entries)), 0o644)
			_, err = ReadIndex(p)
			if !errors.Is(err, ErrBadIndex) || (c.badPath && !errors.Is(err, ErrBadPath)) {
				t.Errorf("ReadIndex = %v, want ErrBadIndex (and ErrBadPath: %v)", err, c.badPath)
			}
		})
	}
	for name, content := range map[string]string{"garbage": "[", "version": `{"version": 2, "files": []}`, "no_version": `{"files": []}`} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o644)
		if _, err := ReadIndex(p); !errors.Is(err, ErrBadIndex) {
			t.Errorf("%s: ReadIndex = %v, want ErrBadIndex", name, err)
		}
	}
}

// indexJSON writes a listing in the index format by hand, bypassing checks.
func indexJSON(es []Entry) string {
	b, _ := json.Marshal(indexFile{Version: indexVersion, Files: es})
	return string(b)
}
