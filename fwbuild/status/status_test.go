package status

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func testPage() Page {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	return Page{
		Server: "fwbuild-manager (mos 2.20.0)", Now: now, Refresh: 5, Slots: 2,
		Live: []Build{
			{App: "hello", Platform: "esp32", Context: "ci_main", User: "alice", State: "building", Step: "CC src/main.c", Compiled: 37, Total: 140, BuildTime: 12 * time.Second, Files: 40, Sent: 2},
			{App: "<script>alert(1)</script>", Platform: "esp32", State: "queued", Position: 1, QueueWait: 3 * time.Second},
			{App: "blink", Platform: "host", State: "building", Compiled: 9, Total: 20, Estimated: true, BuildTime: time.Second},
		},
		Recent: []Build{
			{App: "hello", Platform: "esp32", Context: "ci_main", User: "alice", State: "done", Status: 200, Arrived: now.Add(-92 * time.Second), Ended: now.Add(-90 * time.Second), QueueWait: 20 * time.Millisecond, BuildTime: 1500 * time.Millisecond, Took: 2 * time.Second, BytesIn: 3 << 10, BytesOut: 12 << 20, Files: 40, Sent: 1, Delta: true, Compiled: 140, Cached: 133},
			{App: "blink", Platform: "ubuntu", Status: 418, Arrived: now.Add(-time.Hour), Ended: now.Add(-time.Hour + time.Minute), BuildTime: time.Minute},
		},
		Contexts: []Context{{Version: "2.20.0", App: "hello", Platform: "esp32", Name: "ci_main", Size: 5 << 20, LastUse: now.Add(-3 * time.Minute), InUse: true, Owner: "user:alice"}},
		Disk:     Disk{Contexts: 5 << 20, BlobStore: 1 << 20, BlobStoreMax: 10 << 30, FSUsed: 50 << 30, FSSize: 100 << 30, FSFree: 50 << 30},
	}
}

func TestRender(t *testing.T) {
	var b strings.Builder
	if err := Render(&b, testPage()); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	for _, want := range []string{
		`<meta http-equiv="refresh" content="5">`,
		"<b>2 / 2</b>build slots", // two running of two slots
		"<b>1</b>waiting",
		"CC src/main.c", "37/140", "queued (#1)",
		"&lt;script&gt;alert(1)&lt;/script&gt;", // names are escaped
		`<td class="ok">200 built</td>`, `<td class="failed">418 failed</td>`,
		"1m ago", "1/40 (delta)", "3.0 KB", "12.0 MB", "1.5s",
		"<td>ci_main</td><td>user:alice</td><td>2.20.0</td><td class=\"num\">5.0 MB</td><td class=\"when\">3m ago</td>", "in use",
		"37/140 (26%)", "9/~20 (45%)",
		// Compiled and cached apart: 140 compile steps, 133 from ccache.
		`<td class="num">7</td>` + "\n" + `<td class="num">133</td>`,
		"3.0 KB / 12.0 MB",
		"<b>50%</b>50.0 GB of 100.0 GB, 50.0 GB free",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(html, "<script>") {
		t.Error("page has a script")
	}
}

func TestRenderVerify(t *testing.T) {
	p := testPage()
	var b strings.Builder
	if err := Render(&b, p); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "Verification of incremental builds") {
		t.Error("verification shown while it is off")
	}
	p.Verify = &Verify{Fraction: 0.02, Equal: 41, Mismatches: 1, Errors: 2, Skipped: 3, Queued: 1, Recent: []Mismatch{
		{At: p.Now.Add(-2 * time.Minute), Version: "2.20.0", App: "hello", Platform: "esp32", Name: "ci_main", First: "fw.zip: part app: <differs> at 0x40", Diffs: 4},
	}}
	b.Reset()
	if err := Render(&b, p); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	for _, want := range []string{
		"Verification of incremental builds", "2% of successful incremental builds",
		"<b>41</b>verified", `<b class="failed">1</b>contexts marked dirty`, "<b>2</b>not verified", "<b>3</b>queue full", "<b>1</b>waiting for an idle slot",
		"<tr><td>2m ago</td><td>hello</td><td>esp32</td><td>ci_main</td><td>2.20.0</td><td class=\"step\">fw.zip: part app: &lt;differs&gt; at 0x40</td><td class=\"num\">4</td></tr>",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// Refused logins: shown (count, user, time, address) on a server with
// accounts only.
func TestRenderLogins(t *testing.T) {
	p := testPage()
	var b strings.Builder
	if err := Render(&b, p); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "Refused logins") {
		t.Error("refused logins shown on a server without accounts")
	}
	p.Logins = &Logins{Refused: 12, Last: []Login{
		{User: "mallory", At: p.Now.Add(-5 * time.Second), From: "10.0.0.9:4711"},
		{User: "", At: p.Now.Add(-2 * time.Minute), From: "10.0.0.8:1234"},
	}}
	b.Reset()
	if err := Render(&b, p); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`Refused logins<b class="error">12</b>`,
		"<tr><td class=\"when\">5s ago</td><td>mallory</td><td>10.0.0.9:4711</td></tr>",
		"<td>(empty)</td>", "wrong user or password since the server started: 12",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestRenderEmpty(t *testing.T) {
	var b strings.Builder
	if err := Render(&b, Page{Server: "s", Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"No build is running or waiting.", "No build answered yet.", "No build context on disk."} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("empty page lacks %q", want)
		}
	}
	if strings.Contains(b.String(), "http-equiv") {
		t.Error("Refresh 0 still reloads")
	}
}

func TestHandler(t *testing.T) {
	rec := httptest.NewRecorder()
	Handler(func(*http.Request) Page { return testPage() }).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" || !strings.Contains(rec.Header().Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("%d %v", rec.Code, rec.Header())
	}
	if !strings.Contains(rec.Body.String(), "Recent builds") {
		t.Error("no page")
	}
}

func TestFormats(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{Bytes(999), "999 B"}, {Bytes(1536), "1.5 KB"}, {Bytes(3 << 30), "3.0 GB"},
		{Duration(850 * time.Millisecond), "850ms"}, {Duration(12300 * time.Millisecond), "12.3s"},
		{Duration(245 * time.Second), "4m05s"}, {Duration(130 * time.Minute), "2h10m"}, {Duration(0), "0s"},
		{Ago(time.Unix(100, 0), time.Unix(95, 0)), "5s ago"}, {Ago(time.Unix(100, 0), time.Time{}), "never"},
		{Ago(time.Unix(1000000, 0), time.Unix(100, 0)), "11d ago"},
		{Result(413), "413 too large"}, {Result(500), "500 Internal Server Error"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
