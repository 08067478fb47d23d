package fwcompare

import (
	"archive/zip"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// cprog is a program carrying build info the way the core does: pointers
// named *build_id, *build_timestamp, *build_version.
const cprog = `
const char *mg_build_id = "%s";
const char *mg_build_timestamp = "%s";
const char *mg_build_version = "1.0";
int answer(void) { return %d; }
int main(void) { return answer() + mg_build_id[0] + mg_build_timestamp[0]; }
`

// compile builds cprog with the given build info and answer into dir/name.
func compile(t *testing.T, dir, name, id, ts string, answer int) string {
	t.Helper()
	cc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("gcc not found: install gcc to compare real ELF files")
	}
	src := filepath.Join(dir, name+".c")
	if err := os.WriteFile(src, []byte(fmt.Sprintf(cprog, id, ts, answer)), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, name)
	if b, err := exec.Command(cc, "-O1", "-o", out, src).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	return out
}

// buildDir makes a build dir: fw.zip (manifest naming the ELF as part
// "app", and a "fs" part of raw bytes that spells the build id), gen/ and
// fs/ files.
func buildDir(t *testing.T, dir, elfPath, id, fsPart string, conf string) string {
	t.Helper()
	b := filepath.Join(dir, "build")
	for _, d := range []string{"gen", "fs"} {
		if err := os.MkdirAll(filepath.Join(b, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	elfData, err := os.ReadFile(elfPath)
	if err != nil {
		t.Fatal(err)
	}
	fsData := []byte(fsPart + "|" + id + "|end")
	manifest := fmt.Sprintf(`{"build_id": %q, "build_timestamp": "t-%s", "name": "app", "platform": "ubuntu", "version": "1.0",
"parts": {"app": {"src": "app.elf", "type": "app", "size": %d}, "fs": {"src": "fs.bin", "type": "fs", "size": %d}}}`,
		id, id, len(elfData), len(fsData))
	f, err := os.Create(filepath.Join(b, "fw.zip"))
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for name, data := range map[string][]byte{"app-1.0/manifest.json": []byte(manifest), "app-1.0/app.elf": elfData, "app-1.0/fs.bin": fsData} {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	files := map[string]string{
		"gen/mgos_config_schema.json": `[["a", "i", {}]]`,
		"gen/conf0.json":              conf,
		"gen/mgos_config.h":           "/*\n * Command: " + dir + "/tool --dest " + dir + "\n */\n#pragma once\n",
		"fs/index.html":               "<html>" + conf + "</html>",
	}
	for p, s := range files {
		if err := os.WriteFile(filepath.Join(b, filepath.FromSlash(p)), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func TestBuildDirsEqualDespiteBuildInfo(t *testing.T) {
	tmp := t.TempDir()
	a := compile(t, tmp, "a", "20260101-000000", "2026-01-01T00:00:00Z", 42)
	b := compile(t, tmp, "b", "20261206-123456", "2026-12-06T12:34:56Z", 42)
	da := buildDir(t, filepath.Join(tmp, "one"), a, "20260101-000000", "fs", `{"a": 1}`)
	db := buildDir(t, filepath.Join(tmp, "two"), b, "20261206-123456", "fs", `{"a": 1}`)
	r, err := BuildDirs(da, db)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Equal() {
		t.Fatalf("builds of the same sources differ: %v", r.Diffs)
	}
	if r.Compared < 1000 {
		t.Fatalf("compared only %d bytes", r.Compared)
	}
}

func TestBuildDirsFindsEachDifference(t *testing.T) {
	tmp := t.TempDir()
	a := compile(t, tmp, "a", "20260101-000000", "2026-01-01T00:00:00Z", 42)
	code := compile(t, tmp, "code", "20260101-000000", "2026-01-01T00:00:00Z", 43)
	want := buildDir(t, filepath.Join(tmp, "want"), a, "20260101-000000", "fs", `{"a": 1}`)
	for _, tc := range []struct {
		name, file string
		dir        func(string) string
	}{
		{"code", "fw.zip: part app", func(d string) string { return buildDir(t, d, code, "20260101-000000", "fs", `{"a": 1}`) }},
		{"config", "gen/conf0.json", func(d string) string { return buildDir(t, d, a, "20260101-000000", "fs", `{"a": 2}`) }},
		{"part", "fw.zip: part fs", func(d string) string { return buildDir(t, d, a, "20260101-000000", "FS", `{"a": 1}`) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.dir(filepath.Join(tmp, "case-"+tc.name))
			r, err := BuildDirs(got, want)
			if err != nil {
				t.Fatal(err)
			}
			if r.Equal() || !strings.HasPrefix(r.First(), tc.file) {
				t.Fatalf("diffs %v, want the first in %s", r.Diffs, tc.file)
			}
		})
	}
	t.Run("missing fs file", func(t *testing.T) {
		got := buildDir(t, filepath.Join(tmp, "fsmissing"), a, "20260101-000000", "fs", `{"a": 1}`)
		os.Remove(filepath.Join(got, "fs", "index.html"))
		os.WriteFile(filepath.Join(got, "fs", "index.html"), nil, 0o644)
		os.Rename(filepath.Join(got, "fs", "index.html"), filepath.Join(got, "fs", "other.html"))
		r, err := BuildDirs(got, want)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Diffs) != 2 {
			t.Fatalf("diffs %v, want fs/index.html missing and fs/other.html extra", r.Diffs)
		}
	})
}

// TestBuildDirsRawImageBuildInfo: a raw flash image (stm32's app.bin, not
// an ELF) holds the build info strings the build's ELF names, of which the
// manifest carries only the id and the timestamp; two builds of the same
// sources differing there are equal, and a difference elsewhere in the
// image is still found.
func TestBuildDirsRawImageBuildInfo(t *testing.T) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("gcc not found: install gcc to compare real ELF files")
	}
	tmp := t.TempDir()
	mk := func(name, id, ts, version, code string) string {
		t.Helper()
		dir := filepath.Join(tmp, name)
		src := strings.Replace(cprog, `mg_build_version = "1.0"`, `mg_build_version = "`+version+`"`, 1)
		if err := os.MkdirAll(filepath.Join(dir, "build", "objs"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "v.c"), []byte(fmt.Sprintf(src, id, ts, 42)), 0o644); err != nil {
			t.Fatal(err)
		}
		if b, err := exec.Command(gcc, "-O1", "-o", filepath.Join(dir, "build", "objs", "app.elf"), filepath.Join(dir, "v.c")).CombinedOutput(); err != nil {
			t.Fatalf("gcc: %v\n%s", err, b)
		}
		// The core's second build info (gen/mg_build_info.c), made at
		// another time: its timestamp is in the image, its pointer not in
		// the ELF (the linker dropped it, unused).
		mgTS := strings.Replace(ts, "00Z", "59Z", 1)
		if err := os.MkdirAll(filepath.Join(dir, "build", "gen"), 0o755); err != nil {
			t.Fatal(err)
		}
		mg := fmt.Sprintf("const char *mg_build_id = %q;\nconst char *mg_build_timestamp = %q;\n", id, mgTS)
		if err := os.WriteFile(filepath.Join(dir, "build", "gen", "mg_build_info.c"), []byte(mg), 0o644); err != nil {
			t.Fatal(err)
		}
		img := []byte("vectors|" + code + "|" + id + "|" + ts + "|" + version + "|" + mgTS + "|end")
		manifest := fmt.Sprintf(`{"build_id": %q, "build_timestamp": %q, "name": "app", "platform": "stm32", "version": "1.0",
"parts": {"app": {"src": "app.bin", "type": "app0", "size": %d}}}`, id, ts, len(img))
		f, err := os.Create(filepath.Join(dir, "build", "fw.zip"))
		if err != nil {
			t.Fatal(err)
		}
		zw := zip.NewWriter(f)
		for n, data := range map[string][]byte{"app-1.0/manifest.json": []byte(manifest), "app-1.0/app.bin": img} {
			w, err := zw.Create(n)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(data)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		f.Close()
		return filepath.Join(dir, "build")
	}
	a := mk("a", "20260101-000000", "2026-01-01T00:00:00Z", "202601010000", "code")
	b := mk("b", "20261206-123400", "2026-12-06T12:34:00Z", "202612061234", "code")
	r, err := BuildDirs(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Equal() || r.Compared == 0 {
		t.Fatalf("raw images of the same sources differ: %v (%d compared)", r.Diffs, r.Compared)
	}
	c := mk("c", "20261206-123400", "2026-12-06T12:34:00Z", "202612061234", "CODE")
	if r, err := BuildDirs(c, a); err != nil || r.Equal() || !strings.HasPrefix(r.First(), "fw.zip: part app") {
		t.Fatalf("a raw image differing in its code: diffs %v, err %v", r.Diffs, err)
	}
}
