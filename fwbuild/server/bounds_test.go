package server

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/fwbuild/buildctx"
)

// Over-long names are a 400 quoting at most a short prefix, and nothing
// is created for them.
func TestLongNamesAre400WithAPrefix(t *testing.T) {
	cfg := testConfig(t)
	fr := newFakeRunner()
	s := newServer(t, cfg, WithRunner(fr))
	withManifest := func(m string) []byte {
		files := helloApp(nil)
		files["mos.yml"] = m
		return stockZip(t, files)
	}
	for _, tc := range []struct {
		name string
		req  *http.Request
		want string
	}{
		{"5000-char build_ctx", stockRequest(t, stockZip(t, helloApp(nil)), field{protocol.FieldBuildCtx, strings.Repeat("b", 5000)}),
			"build_ctx: invalid build context name: \"" + strings.Repeat("b", 100) + "\"... (5000 bytes) is longer than 128 bytes"},
		{"10k-char app name", stockRequest(t, withManifest("name: "+strings.Repeat("a", 10000)+"\nplatform: esp32\n")),
			"mos.yml: invalid path component: app name \"" + strings.Repeat("a", 100) + "\"... (10000 bytes) is longer than 128 bytes"},
		{"10k-char app name with slashes", stockRequest(t, withManifest("name: "+strings.Repeat("a/", 5000)+"\nplatform: esp32\n")),
			"(10000 bytes) is longer than 128 bytes"},
		{"10k-char platform", stockRequest(t, withManifest("name: hello\nplatform: "+strings.Repeat("..", 5000)+"\n")),
			"platform \"" + strings.Repeat(".", 100) + "\"... (10000 bytes)"},
		{"path of depth 3000", stockRequest(t, stockZip(t, helloApp(map[string]string{"fs/" + strings.Repeat("d/", 2999) + "f": "x"}))),
			"source.zip: entry \"fs/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d\"... (6002 bytes): name too long: 6002 bytes, the limit is 400"},
		{"component of 300 bytes", stockRequest(t, stockZip(t, helloApp(map[string]string{"src/" + strings.Repeat("c", 300): "x"}))),
			"name too long: a component of 300 bytes, the limit is 255"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(t, s, tc.req)
			body := rec.Body.String()
			if rec.Code != http.StatusBadRequest || !strings.Contains(body, tc.want) {
				t.Errorf("got %d %.400q\nwant 400 with %.400q", rec.Code, body, tc.want)
			}
			if len(body) > 300 {
				t.Errorf("answer of %d bytes", len(body))
			}
		})
	}
	if ents, _ := os.ReadDir(cfg.VolumesDir + "/" + testVersion); len(ents) != 0 {
		t.Errorf("contexts made for refused names: %v", ents)
	}
	if n := len(fr.snapshot()); n != 0 {
		t.Errorf("%d builds ran", n)
	}
}

// A delta plan naming a deep path is refused before anything walks it.
func TestPlanRefusesDeepNames(t *testing.T) {
	s := newServer(t, testConfig(t), WithRunner(newFakeRunner()))
	deep := "fs/" + strings.Repeat("d/", 2999) + "f"
	js := `{"files":[{"path":"mos.yml","size":1,"mode":420,"sha256":"` + strings.Repeat("a", 64) + `"},{"path":"` + deep + `","size":1,"mode":420,"sha256":"` + strings.Repeat("b", 64) + `"}]}`
	rec := do(t, s, httptest.NewRequest(http.MethodPost, protocol.PlanPath(testVersion), strings.NewReader(js)))
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"... (6002 bytes): name too long: 6002 bytes, the limit is 400`) || rec.Body.Len() > 300 {
		t.Errorf("%d %.400q", rec.Code, rec.Body)
	}
}

// rawPost sends a whole multipart request on a fresh connection before
// reading anything, as Python's http.client does, and returns the status
// line of the answer.
func rawPost(t *testing.T, addr string, fields ...field) (string, error) {
	t.Helper()
	ct, b := body(t, stockZip(t, helloApp(nil)), fields...)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Minute))
	head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", protocol.BuildPath(testVersion), addr, ct, len(b))
	if _, err := io.WriteString(conn, head); err != nil {
		return "", err
	}
	if _, err := conn.Write(b); err != nil {
		return "", fmt.Errorf("sending the body: %w", err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("reading the answer: %w", err)
	}
	return strings.TrimSpace(line), nil
}

// An oversized field gets a clean 413, even by a client that sends its
// whole body first (closing on unread data resets the connection).
func TestOversizedFieldIsAClean413(t *testing.T) {
	cfg := testConfig(t)
	cfg.PayloadSizeLimit = 64 << 10
	s := newServer(t, cfg, WithRunner(newFakeRunner()))
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	addr := strings.TrimPrefix(ts.URL, "http://")
	// 32 MiB: far more than loopback socket buffers hold.
	big := strings.Repeat("x", 32<<20)
	for _, tc := range []struct {
		name   string
		fields []field
	}{
		{"build_params", []field{{protocol.FieldBuildParams, big}}},
		{"unknown field", []field{{protocol.FieldBuildParams, stockParams(t)}, {"padding", big}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, err := rawPost(t, addr, tc.fields...)
			if err != nil || status != "HTTP/1.1 413 Request Entity Too Large" {
				t.Errorf("answer %q, %v; want a 413", status, err)
			}
		})
	}
}

// A slow client is cut after --read-timeout, and meanwhile holds neither
// a build slot nor its context's lock.
func TestSlowUploadIsCut(t *testing.T) {
	cfg := testConfig(t)
	cfg.ReadTimeout = 2 * time.Second
	cfg.MaxConcurrentBuilds = 1
	fr := newFakeRunner()
	s := newServer(t, cfg, WithRunner(fr))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	addr := ln.Addr().String()

	// Headers and half the body for ci_main, then nothing.
	ct, b := body(t, stockZip(t, helloApp(nil)), field{protocol.FieldBuildParams, stockParams(t)}, field{protocol.FieldBuildCtx, "ci_main"})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", protocol.BuildPath(testVersion), ct, len(b))
	conn.Write(b[:len(b)/2])

	// The same context builds meanwhile, in the only slot.
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+protocol.BuildPath(testVersion), nil)
	ct2, b2 := body(t, stockZip(t, helloApp(nil)), field{protocol.FieldBuildParams, stockParams(t)}, field{protocol.FieldBuildCtx, "ci_main"})
	req.Body = io.NopCloser(bytes.NewReader(b2))
	req.ContentLength = int64(len(b2))
	req.Header.Set("Content-Type", ct2)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("build beside a stalled upload: %d", resp.StatusCode)
	}

	// The stalled one is answered 408 and closed by the server.
	conn.SetReadDeadline(time.Now().Add(time.Minute))
	answer, err := io.ReadAll(conn)
	if err != nil {
		t.Fatalf("stalled upload not cut by the server: %v", err)
	}
	if !bytes.HasPrefix(answer, []byte("HTTP/1.1 408 ")) || !bytes.Contains(answer, []byte("not received within --read-timeout 2s")) {
		t.Errorf("stalled upload answered %q", answer)
	}
	if n := len(fr.snapshot()); n != 1 {
		t.Errorf("%d builds, want 1", n)
	}
}

// A serving server removes contexts unused for --context-ttl (at start,
// after builds, and every few minutes).
func TestServeRemovesOldContexts(t *testing.T) {
	cfg := testConfig(t)
	cfg.ContextTTL = 24 * time.Hour
	passes := make(chan buildctx.CollectStats, 10)
	s := newServer(t, cfg, WithRunner(newFakeRunner()), WithCollectHook(func(st buildctx.CollectStats) { passes <- st }))
	app := stockZip(t, helloApp(nil))
	for _, name := range []string{"old", "recent"} {
		if rec := do(t, s, stockRequest(t, app, field{protocol.FieldBuildCtx, name})); rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %q", name, rec.Code, rec.Body)
		}
	}
	month := time.Now().Add(-30 * 24 * time.Hour)
	if err := os.Chtimes(ctxDir(cfg, "esp32", "old")+".lock", month, month); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()
	st := <-passes
	cancel()
	if err := <-served; err != nil {
		t.Error(err)
	}
	if strings.Join(st.Removed, ",") != testVersion+"/hello/esp32/old" {
		t.Errorf("removed %v, want the old context", st.Removed)
	}
	if _, err := os.Stat(ctxDir(cfg, "esp32", "old")); !os.IsNotExist(err) {
		t.Errorf("old context: %v", err)
	}
	if _, err := os.Stat(ctxDir(cfg, "esp32", "recent")); err != nil {
		t.Errorf("recent context: %v", err)
	}
}

// Contexts over --max-contexts-size go least recently used first, never
// one that is building.
func TestCollectSparesBuildingContexts(t *testing.T) {
	cfg := testConfig(t)
	cfg.MaxContextsSize = 1 // anything is too much
	fr := newFakeRunner()
	s := newServer(t, cfg, WithRunner(fr))
	app := stockZip(t, helloApp(nil))
	if rec := do(t, s, stockRequest(t, app, field{protocol.FieldBuildCtx, "idle"})); rec.Code != http.StatusOK {
		t.Fatalf("idle: %d %q", rec.Code, rec.Body)
	}
	fr.block = true
	fr.started = make(chan builderRequest, 1)
	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- do(t, s, stockRequest(t, app, field{protocol.FieldBuildCtx, "busy"})) }()
	<-fr.started

	st := s.collect()
	if strings.Join(st.Removed, ",") != testVersion+"/hello/esp32/idle" || st.Skipped != 1 {
		t.Errorf("removed %v, skipped %d; want idle removed, busy kept", st.Removed, st.Skipped)
	}
	if _, err := os.Stat(ctxDir(cfg, "esp32", "idle")); !os.IsNotExist(err) {
		t.Errorf("idle context still there: %v", err)
	}
	fr.release <- struct{}{}
	rec := <-done
	if rec.Code != http.StatusOK || buildCtx(t, resultFiles(t, rec)) != "busy" {
		t.Fatalf("busy: %d %q", rec.Code, rec.Body)
	}
	if _, err := os.Stat(ctxDir(cfg, "esp32", "busy")); err != nil {
		t.Errorf("busy context: %v", err)
	}
	// A removed context's name starts afresh.
	fr.block = false
	if rec := do(t, s, stockRequest(t, app, field{protocol.FieldBuildCtx, "idle"})); rec.Code != http.StatusOK {
		t.Errorf("idle again: %d %q", rec.Code, rec.Body)
	}
}
