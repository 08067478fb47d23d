package remote

import (
	"archive/zip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/cli/execbits"
	"github.com/mongoose-os/mos/common/testenv"
)

// TestZipCarriesModes writes the source zip from files whose modes come
// from each source (git index, disk, #!, default) and reads the entries
// back: Unix-made, slash names, the decided modes.
func TestZipCarriesModes(t *testing.T) {
	testenv.RequireTool(t, "git")
	root := t.TempDir()
	mod := filepath.Join(root, "mongoose-os")
	testenv.GitRepo(t, mod, testenv.Tree{
		"tools/mgos_fw_meta.py": {Content: "#!/usr/bin/env python3\n", Mode: 0o755},
		"tools/tracked_data":    {Content: "#!looks like a script\n"},
	})
	testenv.Git(t, mod, "config", "core.fileMode", "false")
	testenv.WriteTree(t, mod, testenv.Tree{"tools/mgos_fw_meta.py": {Content: "#!/usr/bin/env python3\n", Mode: 0o644}})
	plain := filepath.Join(root, "plain")
	testenv.WriteTree(t, plain, testenv.Tree{
		"run":       {Content: "elf", Mode: 0o755},
		"script.sh": {Content: "#!/bin/sh\n", Mode: 0o644},
		"data.txt":  {Content: "data"},
	})
	unreliable := filepath.Join(root, "mnt_c")
	testenv.WriteTree(t, unreliable, testenv.Tree{
		"gen.py":   {Content: "#!/usr/bin/env python3\n", Mode: 0o777},
		"notes.md": {Content: "notes", Mode: 0o777},
	})

	c := &collector{
		ctx:  context.Background(),
		tree: newUpTree(),
		modes: execbits.New(execbits.Options{KeepsModes: func(dir string) bool {
			return diskHasExecBits && !strings.HasPrefix(dir, unreliable)
		}}),
		logf: func(string, ...any) {},
	}
	c.tree.addData("mos.yml", []byte("name: x\n"), 0o644)
	for _, d := range []struct{ dir, prefix string }{
		{mod, "deps/modules/mongoose-os"},
		{plain, "plain"},
		{unreliable, "ext"},
	} {
		if err := c.addDir(d.dir, d.prefix, d.prefix, nil); err != nil {
			t.Fatal(err)
		}
	}
	files, err := c.tree.sorted()
	if err != nil {
		t.Fatal(err)
	}
	zipPath, size, err := writeZip(t.TempDir(), files)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(zipPath); err != nil || fi.Size() != size {
		t.Fatalf("zip size %d, stat %v %v", size, fi, err)
	}
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	want := map[string]os.FileMode{
		"mos.yml": 0o644,
		"deps/modules/mongoose-os/tools/mgos_fw_meta.py": 0o755, // index
		"deps/modules/mongoose-os/tools/tracked_data":    0o644, // index
		"plain/run":       0o755, // disk
		"plain/script.sh": 0o755, // no x bit on disk, but #!
		"plain/data.txt":  0o644,
		"ext/gen.py":      0o755, // #!
		"ext/notes.md":    0o644, // default
	}
	if !diskHasExecBits {
		want["plain/run"] = 0o644
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		if f.CreatorVersion>>8 != 3 {
			t.Errorf("%s: creator host %d, want 3 (Unix)", f.Name, f.CreatorVersion>>8)
		}
		if w, ok := want[f.Name]; !ok || f.Mode() != w {
			t.Errorf("%s: mode %v, want %v (listed %v)", f.Name, f.Mode(), w, ok)
		}
	}
	if len(names) != len(want) {
		t.Errorf("entries %q", names)
	}
	for i := 1; i < len(names); i++ {
		if names[i-1] >= names[i] {
			t.Errorf("entries not sorted: %q", names)
		}
	}
}

// diskHasExecBits: the test's temp dirs can hold x bits (not on Windows).
var diskHasExecBits = os.PathSeparator == '/'
