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
	d.Step("Building", "CC src/main.c", 1, 0)
	d.Step("Building", "CC src/util.c", 2, 0)
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
	d.Step("Building", "CC src/main.c", 37, 140)
	d.Close()
	out := b.String()
	for _, want := range []string{"Uploading", "Queued on the server: position 1", "a message\n", "Building 37/140 CC src/main.c", "\x1b[2K"} {
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
	d.Step("Building", "x", 1, 1)
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
