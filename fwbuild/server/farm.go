package server

import (
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/golang/glog"

	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/fwbuild/auth"
	"github.com/mongoose-os/mos/fwbuild/builder"
	"github.com/mongoose-os/mos/fwbuild/config"
)

// nameAnswers sets protocol.HeaderServer on every answer, so behind a
// load balancer users and tests see which server built.
func (s *Server) nameAnswers(next http.Handler) http.Handler {
	name := s.cfg.ServerName
	if name == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(protocol.HeaderServer, name)
		next.ServeHTTP(w, r)
	})
}

// ccacheFor is the compile cache of the server's builds (nil with
// --ccache=false); its dir is made now.
func ccacheFor(cfg config.Config, volumesRoot string) (*builder.Ccache, error) {
	if !cfg.Ccache {
		glog.Infof("ccache: off (--ccache=false): every new context compiles everything")
		return nil, nil
	}
	cc := &builder.Ccache{Dir: cfg.CcachePath(volumesRoot), MaxSize: cfg.CcacheMaxSize, Remote: cfg.CcacheRemote}
	if err := os.MkdirAll(cc.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("--ccache-dir: %w", err)
	}
	remote := "none"
	if cc.Remote != "" {
		remote = cc.Remote
	}
	glog.Infof("ccache: %s (max %s), remote storage %s", cc.Dir, orDefault(cc.MaxSize, "ccache's default"), remote)
	return cc, nil
}

// logCacheTrust says who fills the shared base compile cache: a group
// with no member (a typo) would leave it empty without a word.
func logCacheTrust(cfg config.Config, a *auth.Accounts) {
	g := cfg.CcacheTrustedGroup
	if !cfg.Ccache || g == "" {
		return
	}
	var members []string
	for _, u := range a.Users() {
		if a.InGroup(u, g) {
			members = append(members, u)
		}
	}
	if len(members) == 0 {
		glog.Warningf("WARNING: --ccache-trusted-group %s: no user of %s is in that group; no build fills the base compile cache", g, cfg.AuthFile)
		return
	}
	glog.Infof("ccache: builds of %s (group %s) fill the base cache every build reads", strings.Join(members, ", "), g)
}

// trustedForCache says user's builds fill the shared base compile cache
// (--ccache-trusted-group).
func (s *Server) trustedForCache(user string) bool {
	return s.accounts != nil && user != "" && s.cfg.CcacheTrustedGroup != "" && s.accounts.InGroup(user, s.cfg.CcacheTrustedGroup)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
