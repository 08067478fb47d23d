package fwbundle

import (
	"archive/zip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeZip(t *testing.T, files map[string]string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fw.zip")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for name, content := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(content))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p
}

func TestRead(t *testing.T) {
	p := writeZip(t, map[string]string{
		"hello-1.0/manifest.json": `{"name": "hello", "platform": "host", "version": "1.0", "build_id": "20240101-120000/main@1a2b3c4d",
			"build_timestamp": "2024-01-01T12:00:00Z", "parts": {"app": {"type": "app", "src": "hello.elf", "size": 10}}}`,
		"hello-1.0/hello.elf": "ELF",
	})
	m, err := Read(p)
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "hello" || m.Platform != "host" || m.Version != "1.0" || m.BuildID != "20240101-120000/main@1a2b3c4d" ||
		m.BuildTimestamp == nil || m.BuildTimestamp.Year() != 2024 || m.Parts["app"]["src"] != "hello.elf" {
		t.Errorf("manifest %+v", m)
	}
}

func TestReadErrors(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"no manifest":   {"a/b.bin": "x"},
		"bad json":      {"a/manifest.json": "{"},
		"bad timestamp": {"a/manifest.json": `{"name": "x", "build_timestamp": "yesterday"}`},
		"object src":    {"a/manifest.json": `{"name": "x", "parts": {"app": {"src": "x.elf"}, "fs": {"type": "fs", "src": {"a.txt": {"size": 1}}}}}`},
	} {
		p := writeZip(t, files)
		if _, err := Read(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: err = %v, want one naming the file", name, err)
		}
	}
	if _, err := Read(filepath.Join(t.TempDir(), "nope.zip")); err == nil {
		t.Error("a missing file must be an error")
	}
}

func TestReadRefusesObjectSrc(t *testing.T) {
	p := writeZip(t, map[string]string{
		"a-1/manifest.json": `{"name": "a", "parts": {"app": {"type": "app", "src": "a.elf"}, "fs": {"type": "fs", "src": {"a.txt": {"size": 1}}}}}`,
	})
	_, err := Read(p)
	if err == nil || !strings.Contains(err.Error(), "parts.fs.src is a JSON object") {
		t.Errorf("err = %v, want one naming parts.fs.src", err)
	}
}
