//go:build unix

package server

import (
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/common/testenv"
	"github.com/mongoose-os/mos/fwbuild/config"
)

// TestLibLocationsOnTheAllowList is issue 20 row 12: a lib location at a
// 127.0.0.1 port not in --fetch-allow is refused before the server (the
// mos it runs, outside the sandbox) connects, and the answer for an open
// port is the one for a closed port.
func TestLibLocationsOnTheAllowList(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end build; skipped with -short")
	}
	testenv.RequireTool(t, "git")
	open, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	var conns atomic.Int32
	go func() {
		for {
			c, err := open.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			c.Close()
		}
	}()
	closedL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closedL.Addr().String()
	closedL.Close()
	openAddr := open.Addr().String()

	s := realServer(t, config.RunnerNative)
	post := func(addr string) (int, string) {
		t.Helper()
		files := helloUpload(t)
		files["mos.yml"] += "\nlibs: [{location: \"http://" + addr + "/probe.git\", name: probe}]\n"
		ct, b := body(t, stockZip(t, files), field{protocol.FieldBuildParams, hostParams(t)})
		rec := do(t, s, httptestPost(ct, b))
		out := rec.Body.String()
		if rec.Code == protocol.StatusBuildFailed {
			out = resultFiles(t, rec)["build/build.log"]
		}
		_, port, _ := net.SplitHostPort(addr)
		out = strings.ReplaceAll(out, port, "PORT")
		return rec.Code, regexp.MustCompile(`build_ctx_[0-9]+`).ReplaceAllString(out, "build_ctx_N")
	}
	openCode, openBody := post(openAddr)
	closedCode, closedBody := post(closedAddr)
	if n := conns.Load(); n != 0 {
		t.Errorf("the server connected to the open port %d times", n)
	}
	if openCode != http.StatusBadRequest || !strings.Contains(openBody, "not allowed by --fetch-allow") {
		t.Errorf("open port: status %d, body:\n%s\nwant 400 naming --fetch-allow", openCode, openBody)
	}
	if openCode != closedCode || openBody != closedBody {
		t.Errorf("open and closed ports answered differently:\nopen %d:\n%s\nclosed %d:\n%s", openCode, openBody, closedCode, closedBody)
	}
}
