package location

import "testing"

func TestIsGit(t *testing.T) {
	for _, tc := range []struct {
		typ, loc string
		want     bool
	}{
		{"", "https://github.com/mongoose-os-libs/core", true},
		{"", "https://gitlab.example.com/g/r", true}, // matches host:path shorthand
		{"", "ssh://git@host/a/b.git", true},
		{"", "git@github.com:o/r.git", true},
		{"", "host:path/r", true},
		{"", "file:///tmp/repos/lib1", true},
		{"", "libs/mylib1", false},
		{"", "../libs/core", false},
		{"", "/abs/path/lib", false},
		{"", `C:\work\libs\foo`, false},
		{"", "C:/work/libs/foo", false},
		{"git", "libs/mylib1", true},
		{"local", "https://github.com/o/r", false},
	} {
		if got := IsGit(tc.typ, tc.loc); got != tc.want {
			t.Errorf("IsGit(%q, %q) = %v, want %v", tc.typ, tc.loc, got, tc.want)
		}
	}
}

func TestParseGit(t *testing.T) {
	for _, tc := range []struct {
		loc                                       string
		name, repoName, repoPath, repoURL, subDir string
	}{
		{"https://github.com/mongoose-os-libs/core", "core", "core", "mongoose-os-libs/core", "https://github.com/mongoose-os-libs/core", ""},
		{"https://github.com/o/r.git", "r", "r", "o/r", "https://github.com/o/r.git", ""},
		{"https://github.com/o/r/tree/master/sub/dir", "dir", "r", "o/r", "https://github.com/o/r", "sub/dir"},
		{"https://gl.example.com/g/h/r/-/tree/main/libs/x", "x", "r", "g/h/r", "https://gl.example.com/g/h/r", "libs/x"},
		{"ssh://h/a/b.git/c/d", "d", "b", "a/b", "ssh://h/a/b.git", "c/d"},
		{"git@github.com:o/r.git", "r", "r", "o/r", "git@github.com:o/r.git", ""},
		{"host:path/r", "r", "r", "path/r", "host:path/r", ""},
		{"file:///tmp/repos/lib1", "lib1", "lib1", "tmp/repos/lib1", "file:///tmp/repos/lib1", ""},
	} {
		l, err := Parse("", tc.loc)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.loc, err)
			continue
		}
		if l.Kind != Git || l.Name != tc.name || l.RepoName != tc.repoName || l.RepoPath != tc.repoPath ||
			l.RepoURL != tc.repoURL || l.SubDir != tc.subDir {
			t.Errorf("Parse(%q) = %+v", tc.loc, *l)
		}
	}
}

func TestParseLocal(t *testing.T) {
	l, err := Parse("", "libs/mylib1")
	if err != nil || l.Kind != Local || l.Name != "mylib1" {
		t.Errorf("Parse(libs/mylib1) = %+v, %v", l, err)
	}
	if _, err := Parse("", "libs/mylib1/"); err == nil {
		t.Error("a local location ending in / must be an error")
	}
	if _, err := Parse("", ""); err == nil {
		t.Error("an empty location must be an error")
	}
}

func TestLibName(t *testing.T) {
	for _, tc := range []struct {
		explicit, loc, want string
		wantErr             bool
	}{
		{"", "https://github.com/mongoose-os-libs/boards", "zz_boards", false},
		{"boards", "x", "zz_boards", false},
		{"lib1", "libs/mylib1", "lib1", false},
		{"", "libs/mylib1", "mylib1", false},
		{"1lib", "libs/mylib1", "", true},
		{"a", "libs/x", "", true}, // two characters are checked
	} {
		got, err := LibName(tc.explicit, "", tc.loc)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("LibName(%q, %q) = %q, %v", tc.explicit, tc.loc, got, err)
		}
	}
	if Name2("zz_boards") != "boards" || Name2("core") != "core" {
		t.Error("Name2")
	}
}
