package remote

import (
	"net/http"
	"testing"

	"github.com/mongoose-os/mos/common/protocol"
)

// A build's requests name the server that answered its last one, so a
// farm's proxy keeps the plan and the build request on one server.
func TestFarmHeadersFollowTheAnsweringServer(t *testing.T) {
	b := &build{affinity: protocol.AffinityKey("app", "esp32", "main")}
	check := func(when, want string) {
		t.Helper()
		h := http.Header{}
		b.setFarmHeaders(h)
		if got := h.Get(protocol.HeaderAffinity); got != "app/esp32/main" {
			t.Errorf("%s: %s = %q, want app/esp32/main", when, protocol.HeaderAffinity, got)
		}
		if got := h.Values(protocol.HeaderBuildServer); want == "" && len(got) != 0 || want != "" && (len(got) != 1 || got[0] != want) {
			t.Errorf("%s: %s = %q, want %q", when, protocol.HeaderBuildServer, got, want)
		}
	}
	answer := func(server string) {
		r := &http.Response{Header: http.Header{}}
		if server != "" {
			r.Header.Set(protocol.HeaderServer, server)
		}
		b.noteServer(r)
	}
	check("the first request", "")
	answer("")
	check("after an answer naming no server", "")
	answer("fw2")
	check("after fw2 answered the plan", "fw2")
	answer("")
	check("after an answer naming no server", "fw2")
	answer("fw3")
	check("after fw3 answered (fw2 went away)", "fw3")
}
