package execbits

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/common/testenv"
)

// diskHasExecBits: the test's temp dirs can hold x bits (not on Windows).
var diskHasExecBits = runtime.GOOS != "windows"

// TestModeSources covers each rule: the index wins over the disk, the disk
// decides untracked files where modes are kept, #! decides where they are
// not, and 0644 is the default.
func TestModeSources(t *testing.T) {
	testenv.RequireTool(t, "git")
	root := t.TempDir()

	// A checkout without exec bits (core.fileMode=false): the index says
	// 100755, the disk 0644.
	repoDir := filepath.Join(root, "mongoose-os")
	testenv.GitRepo(t, repoDir, testenv.Tree{
		"tools/mgos_fw_meta.py": {Content: "#!/usr/bin/env python3\n", Mode: 0o755},
		"tools/data.txt":        {Content: "#!not really a script, but tracked 0644\n"},
		"README.md":             {Content: "readme\n"},
		"tools/bin_tool":        {Content: "\x7fELF", Mode: 0o755},
	})
	testenv.Git(t, repoDir, "config", "core.fileMode", "false")
	testenv.WriteTree(t, repoDir, testenv.Tree{
		"tools/mgos_fw_meta.py": {Content: "#!/usr/bin/env python3\n", Mode: 0o644},
		"tools/bin_tool":        {Content: "\x7fELF", Mode: 0o644},
		"untracked.sh":          {Content: "#!/bin/sh\n", Mode: 0o644},
		"untracked_x.txt":       {Content: "no shebang\n", Mode: 0o755},
	})

	// A plain dir on a disk that keeps modes.
	plain := filepath.Join(root, "plain")
	testenv.WriteTree(t, plain, testenv.Tree{
		"run":      {Content: "binary", Mode: 0o755},
		"lib.c":    {Content: "int x;\n", Mode: 0o644},
		"group_x":  {Content: "g", Mode: 0o610},
		"script":   {Content: "#!/bin/sh\n", Mode: 0o644},
		"empty":    {Content: ""},
		"shebang1": {Content: "#"},
	})

	// A plain dir on a disk that makes modes up.
	fake := filepath.Join(root, "fake")
	testenv.WriteTree(t, fake, testenv.Tree{
		"script.py": {Content: "#!/usr/bin/env python3\n", Mode: 0o644},
		"data.bin":  {Content: "\x7fELF", Mode: 0o777},
	})

	var logs []string
	r := New(Options{
		Log:        func(s string) { logs = append(logs, s) },
		KeepsModes: func(dir string) bool { return !strings.HasPrefix(dir, fake) },
	})
	cases := []struct {
		path string
		want Mode
	}{
		{"mongoose-os/tools/mgos_fw_meta.py", Mode{0o755, Index}},
		{"mongoose-os/tools/bin_tool", Mode{0o755, Index}},
		{"mongoose-os/tools/data.txt", Mode{0o644, Index}},
		{"mongoose-os/README.md", Mode{0o644, Index}},
		// core.fileMode=false: the disk is not trusted for untracked files.
		{"mongoose-os/untracked.sh", Mode{0o755, Shebang}},
		{"mongoose-os/untracked_x.txt", Mode{0o644, Default}},
		{"plain/run", Mode{0o755, Disk}},
		{"plain/lib.c", Mode{0o644, Disk}},
		{"plain/group_x", Mode{0o755, Disk}},
		{"plain/script", Mode{0o755, Shebang}}, // 0644 on disk, but a script: the #! wins,
		{"fake/script.py", Mode{0o755, Shebang}},
		{"fake/data.bin", Mode{0o644, Default}},
	}
	for _, tc := range cases {
		if !diskHasExecBits && tc.want.Source == Disk {
			continue
		}
		got, err := r.Mode(filepath.Join(root, filepath.FromSlash(tc.path)))
		if err != nil {
			t.Errorf("%s: %v", tc.path, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s: got %v from %v, want %v from %v", tc.path, got.Perm, got.Source, tc.want.Perm, tc.want.Source)
		}
	}
	if len(logs) != 0 {
		t.Errorf("unexpected log lines: %q", logs)
	}

	// Unreliable disk without git: short files and empty files are 0644.
	r2 := New(Options{KeepsModes: func(string) bool { return false }})
	for _, p := range []string{"plain/empty", "plain/shebang1", "plain/run"} {
		got, err := r2.Mode(filepath.Join(root, filepath.FromSlash(p)))
		if err != nil || got != (Mode{0o644, Default}) {
			t.Errorf("%s without modes: got %v, %v; want 0644 default", p, got, err)
		}
	}
}

// TestNestedRepos: a deps/<lib> clone is its own work tree; its index, not
// the app's, decides, and a file the app repo ignores is untracked.
func TestNestedRepos(t *testing.T) {
	testenv.RequireTool(t, "git")
	app := t.TempDir()
	testenv.GitRepo(t, app, testenv.Tree{
		".gitignore": {Content: "deps/\n"},
		"mos.yml":    {Content: "name: app\n"},
		"tool.sh":    {Content: "echo\n", Mode: 0o755},
	})
	lib := filepath.Join(app, "deps", "modules", "mongoose-os")
	testenv.GitRepo(t, lib, testenv.Tree{"tools/x.py": {Content: "print()\n", Mode: 0o755}})
	testenv.Git(t, lib, "config", "core.fileMode", "false")
	testenv.WriteTree(t, lib, testenv.Tree{"tools/x.py": {Content: "print()\n", Mode: 0o644}})
	testenv.WriteTree(t, app, testenv.Tree{"deps/loose.sh": {Content: "plain\n", Mode: 0o755}})

	r := New(Options{KeepsModes: func(string) bool { return true }})
	for p, want := range map[string]Mode{
		"tool.sh":                             {0o755, Index},
		"mos.yml":                             {0o644, Index},
		"deps/modules/mongoose-os/tools/x.py": {0o755, Index},
		"deps/loose.sh":                       {0o755, Disk},
	} {
		if !diskHasExecBits && want.Source == Disk {
			continue
		}
		got, err := r.Mode(filepath.Join(app, filepath.FromSlash(p)))
		if err != nil || got != want {
			t.Errorf("%s: got %v, %v; want %v", p, got, err, want)
		}
	}
}

func TestGitMissing(t *testing.T) {
	testenv.RequireTool(t, "git")
	dir := t.TempDir()
	testenv.GitRepo(t, dir, testenv.Tree{"x.py": {Content: "print()\n", Mode: 0o755}})
	testenv.WriteTree(t, dir, testenv.Tree{"x.py": {Content: "print()\n", Mode: 0o644}})
	var logs []string
	r := New(Options{
		Git:        filepath.Join(dir, "no-such-git"),
		Log:        func(s string) { logs = append(logs, s) },
		KeepsModes: func(string) bool { return true },
	})
	got, err := r.Mode(filepath.Join(dir, "x.py"))
	if err != nil || got != (Mode{0o644, Disk}) {
		t.Errorf("got %v, %v; want 0644 from disk", got, err)
	}
	if len(logs) != 1 || !strings.Contains(logs[0], "reading the git index of "+dir) {
		t.Errorf("log lines %q: want one about the index of %s", logs, dir)
	}
}

func TestSymlinkInIndex(t *testing.T) {
	testenv.RequireTool(t, "git")
	dir := t.TempDir()
	testenv.GitRepo(t, dir, testenv.Tree{"target.txt": {Content: "t"}})
	// Record a symlink in the index while the disk holds a plain file, as a
	// checkout with core.symlinks=false does.
	blob := testenv.Git(t, dir, "hash-object", "-w", "target.txt")
	testenv.Git(t, dir, "update-index", "--add", "--cacheinfo", "120000,"+blob+",link")
	testenv.WriteTree(t, dir, testenv.Tree{"link": {Content: "target.txt"}})
	got, err := New(Options{}).Mode(filepath.Join(dir, "link"))
	if err != nil || got.Source != Symlink {
		t.Errorf("got %v, %v; want the symlink decision", got, err)
	}
}

func TestMissingFile(t *testing.T) {
	_, err := New(Options{}).Mode(filepath.Join(t.TempDir(), "nope"))
	if err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("err = %v, want one naming the file", err)
	}
}

func TestParseLsFiles(t *testing.T) {
	out := "100755 e69de29bb2d1d6434b8b29ae775ad8c2e48c5391 0\ttools/a b.py\x00" +
		"100644 e69de29bb2d1d6434b8b29ae775ad8c2e48c5391 0\tsrc/main.c\x00" +
		"120000 e69de29bb2d1d6434b8b29ae775ad8c2e48c5391 0\tlink\x00" +
		"160000 e69de29bb2d1d6434b8b29ae775ad8c2e48c5391 0\tsub\x00"
	m, err := parseLsFiles([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 3 || m["tools/a b.py"] != 0o755 || m["src/main.c"] != 0o644 || m["link"].Type() == 0 {
		t.Errorf("parsed %v", m)
	}
	if _, err := parseLsFiles([]byte("garbage\x00")); err == nil {
		t.Error("want an error for a record without a tab")
	}
}

func TestParseGitBool(t *testing.T) {
	for s, want := range map[string]bool{"true": true, "false": false, "FALSE": false, "no": false, "off": false, "0": false, "yes": true, "1": true} {
		if got := parseGitBool(s); got != want {
			t.Errorf("parseGitBool(%q) = %v", s, got)
		}
	}
}
