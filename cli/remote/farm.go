package remote

import (
	"net/http"

	"github.com/mongoose-os/mos/common/protocol"
)

// setFarmHeaders marks a request of this build for a farm's proxy: the
// context's affinity key, and the server that answered the build's last
// request. Behind bounded-load hashing the plan and the build request of one
// build could otherwise land on two servers, and the second would not know
// the plan (the build then plans again, and may fail after 3 attempts).
func (b *build) setFarmHeaders(h http.Header) {
	h.Set(protocol.HeaderAffinity, b.affinity)
	if s, _ := b.answeredBy.Load().(string); s != "" {
		h.Set(protocol.HeaderBuildServer, s)
	}
}

// noteServer notes the server that answered a request of the build (the
// plan or the build request; not progress polls, which run beside them).
// The last one counts: when the first server died and another answered,
// the rest of the build goes to the one that answered.
func (b *build) noteServer(resp *http.Response) {
	if s := resp.Header.Get(protocol.HeaderServer); s != "" {
		b.answeredBy.Store(s)
	}
}
