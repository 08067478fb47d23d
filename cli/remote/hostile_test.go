package remote

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/common/testenv"
)

// hostileServer plans a delta upload as ours does (nothing missing) and
// answers every build with reply, marked a delta when delta is set. With
// drop it sends the headers and the first half of reply, then closes the
// connection.
type hostileServer struct {
	reply []byte
	delta bool
	drop  bool
}

func (s *hostileServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	if path.Base(r.URL.Path) == protocol.ActionPlan {
		json.NewEncoder(w).Encode(protocol.PlanResponse{Plan: "p1", Missing: []string{}})
		return
	}
	if s.delta {
		w.Header().Set(protocol.HeaderDelta, "1")
	}
	if !s.drop {
		w.Write(s.reply)
		return
	}
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\nContent-Length: %d\r\n", len(s.reply))
	if s.delta {
		fmt.Fprintf(buf, "%s: 1\r\n", protocol.HeaderDelta)
	}
	buf.WriteString("\r\n")
	buf.Write(s.reply[:len(s.reply)/2])
	buf.Flush()
}

// zipOf writes entries as given (any name), a delta list when dl is set,
// and the extra entries add writes.
func zipOf(t *testing.T, files map[string]string, dl *protocol.DeltaList, add func(zw *zip.Writer)) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, c := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, c)
	}
	if dl != nil {
		w, _ := zw.Create(protocol.DeltaListName)
		json.NewEncoder(w).Encode(dl)
	}
	if add != nil {
		add(zw)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A result the client must not install leaves build/ (and the app) as it
// was: names leading out, links, a bomb, a delta deleting outside build/
// or in the app's sources, an answer cut off mid-way.
func TestHostileServer(t *testing.T) {
	before := testenv.Tree{
		"gen/build_ctx.txt": {Content: "build_ctx_42"},
		"fw.zip":            {Content: "old firmware"},
		"objs/main.o":       {Content: "obj"},
	}
	good := map[string]string{"build/fw.zip": "new firmware", "build/gen/build_ctx.txt": "build_ctx_42"}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range good {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	symlink := func(zw *zip.Writer) {
		h := &zip.FileHeader{Name: "build/gen/passwd", Method: zip.Store}
		h.SetMode(fs.ModeSymlink | 0o777)
		w, _ := zw.CreateHeader(h)
		io.WriteString(w, "/etc/passwd")
	}
	bomb := func(zw *zip.Writer) {
		// Claims 3 GiB unpacked: refused before a byte is written.
		data := []byte("0000")
		w, _ := zw.CreateRaw(&zip.FileHeader{
			Name: "build/objs/big.o", Method: zip.Store,
			CompressedSize64: uint64(len(data)), UncompressedSize64: 3 << 30, CRC32: crc32.ChecksumIEEE(data),
		})
		w.Write(data)
	}
	for _, tc := range []struct {
		name string
		srv  *hostileServer
		want string
	}{
		{"dot-dot", &hostileServer{reply: zipOf(t, with(map[string]string{"build/../../escaped": "x"}), nil, nil)}, "unsafe name"},
		{"absolute", &hostileServer{reply: zipOf(t, with(map[string]string{"/tmp/escaped": "x"}), nil, nil)}, "unpacking the build result"},
		{"drive letter", &hostileServer{reply: zipOf(t, with(map[string]string{"C:/build/escaped": "x"}), nil, nil)}, "unpacking the build result"},
		{"backslashes", &hostileServer{reply: zipOf(t, with(map[string]string{`build\..\..\escaped`: "x"}), nil, nil)}, "unpacking the build result"},
		{"symlink", &hostileServer{reply: zipOf(t, good, nil, symlink)}, "unpacking the build result"},
		{"bomb", &hostileServer{reply: zipOf(t, good, nil, bomb)}, "unpacking the build result"},
		{"delta deletes outside", &hostileServer{delta: true, reply: zipOf(t, good, &protocol.DeltaList{Deleted: []string{"../src/main.c"}}, nil)}, `".." component`},
		{"delta deletes the manifest", &hostileServer{delta: true, reply: zipOf(t, good, &protocol.DeltaList{Deleted: []string{"../mos.yml"}}, nil)}, `".." component`},
		{"delta deletes absolute", &hostileServer{delta: true, reply: zipOf(t, good, &protocol.DeltaList{Deleted: []string{filepath.ToSlash("/src/main.c")}}, nil)}, "absolute path"},
		{"dropped", &hostileServer{drop: true, reply: zipOf(t, good, nil, nil)}, "receiving the build result"},
		{"dropped delta", &hostileServer{drop: true, delta: true, reply: zipOf(t, good, &protocol.DeltaList{Deleted: []string{"objs/main.o"}}, nil)}, "receiving the build result"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := httptest.NewServer(tc.srv)
			t.Cleanup(ts.Close)
			e := newEnv(t)
			testenv.WriteTree(t, e.buildDir(), before)
			sources := testenv.ReadTree(t, e.app)
			_, err := Build(context.Background(), e.req(ts.URL))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q\nlog:\n%s", err, tc.want, e.log)
			}
			testenv.CheckTree(t, e.app, sources)
			if exists(filepath.Join(filepath.Dir(e.app), "escaped")) {
				t.Error("a zip entry escaped the build dir")
			}
		})
	}
}

func TestCutErrorLine(t *testing.T) {
	for _, tc := range []struct{ in, body, reason string }{
		{"a\nError: boom\n", "a\n", "boom"},
		{"Error: boom", "", "boom"},
		{"a\nb\n", "a\nb\n", ""},
		{"Error: early\nlater\n", "Error: early\nlater\n", ""},
	} {
		body, reason := CutErrorLine([]byte(tc.in))
		if string(body) != tc.body || reason != tc.reason {
			t.Errorf("CutErrorLine(%q) = %q, %q", tc.in, body, reason)
		}
	}
}

// A failed build's trailing "Error:" line of the server goes with the
// error, not also with the log copied by --verbose.
func TestServerErrorLineOnce(t *testing.T) {
	srv, ts := newStockServer(t)
	srv.fail = true
	srv.extra = map[string]string{"build/build.log": "CC src/main.c\nError: make failed: exit status 2\n"}
	e := newEnv(t)
	r := e.req(ts.URL)
	r.Verbose = true
	_, err := Build(context.Background(), r)
	if !errors.Is(err, ErrBuildFailed) || !strings.HasSuffix(err.Error(), "build.log): make failed: exit status 2") {
		t.Fatalf("err = %v", err)
	}
	if !strings.HasSuffix(e.log.String(), "\nCC src/main.c\n") || strings.Contains(e.log.String(), "Error:") {
		t.Errorf("verbose log:\n%s", e.log)
	}
}
