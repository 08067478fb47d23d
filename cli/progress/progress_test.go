package progress

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func TestPlain(t *testing.T) {
	var b bytes.Buffer
	d := New(&b, false)
	d.Status("Queued on the server: position 2")
	d.Status("Queued on the server: position 2") // unchanged: not again
	d.Status("Building on the server...")
	d.Step("Building", "CC src/main.c", 1, 0, false)
	d.Step("Building", "CC src/util.c", 2, 0, false)
	io.WriteString(d, "Build fin")
	io.WriteString(d, "ished\nmore")
	tr := d.Transfer("Downloading", 100)
	io.Copy(io.Discard, tr.Reader(strings.NewReader("x")))
	tr.Done()
	d.Close()
	want := "Queued on the server: position 2\nBuilding on the server...\n  CC src/main.c\n  CC src/util.c\nBuild finished\nmore\n"
	if b.String() != want {
		t.Errorf("plain output\n%q\nwant\n%q", b.String(), want)
	}
}

func TestTerminal(t *testing.T) {
	var b bytes.Buffer
	d := New(&b, true)
	tr := d.Transfer("Uploading", 2048)
	n, err := io.Copy(io.Discard, tr.Reader(strings.NewReader(strings.Repeat("x", 2048))))
	if n != 2048 || err != nil {
		t.Fatalf("read %d, %v", n, err)
	}
	tr.Done()
	d.Status("Queued on the server: position 1")
	d.Println("a message")
	d.Step("Building", "CC src/main.c", 37, 140, false)
	d.Close()
	out := b.String()
	for _, want := range []string{"Uploading", "Queued on the server: position 1", "a message\n", "Building 37/140 26% CC src/main.c", "\x1b[2K"} {
		if !strings.Contains(out, want) {
			t.Errorf("terminal output lacks %q:\n%q", want, out)
		}
	}
	// The message is printed on a cleared line, not after the bar.
	if i := strings.Index(out, "a message"); i < 5 || !strings.HasSuffix(out[:i], "\x1b[2K\r") {
		t.Errorf("message not on a cleared line: %q", out)
	}
	// The last thing written clears the line.
	if !strings.HasSuffix(out, "\x1b[2K\r") {
		t.Errorf("output does not end with a cleared line: %q", out[max(0, len(out)-40):])
	}
}

func TestNil(t *testing.T) {
	var d *Display
	d.Status("x")
	d.Step("Building", "x", 1, 1, true)
	d.Println("x")
	d.Refresh()
	d.EndLine()
	d.Close()
	tr := d.Transfer("x", 1)
	tr.Add(1)
	tr.Done()
	if _, err := io.Copy(io.Discard, tr.Reader(strings.NewReader("abc"))); err != nil {
		t.Fatal(err)
	}
	if n, err := d.Write([]byte("x\n")); n != 2 || err != nil {
		t.Errorf("Write = %d, %v", n, err)
	}
}

func TestStepCount(t *testing.T) {
	for _, tc := range []struct {
		n, total int
		est      bool
		want     string
	}{
		{0, 0, false, ""},
		{0, 140, true, ""},
		{5, 0, false, "5 "},
		{37, 140, false, "37/140 26% "},
		{37, 140, true, "37/~140 26% "},
		{140, 140, false, "140/140 99% "}, // 100% only when the build is done
		{150, 140, true, "150/~150 99% "}, // an estimate passed is raised
	} {
		if got := StepCount(tc.n, tc.total, tc.est); got != tc.want {
			t.Errorf("StepCount(%d, %d, %v) = %q, want %q", tc.n, tc.total, tc.est, got, tc.want)
		}
	}
}
