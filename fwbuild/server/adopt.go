package server

import (
	"fmt"
	"strings"

	"github.com/golang/glog"

	"github.com/mongoose-os/mos/common/filetree"
	"github.com/mongoose-os/mos/fwbuild/adopt"
	"github.com/mongoose-os/mos/fwbuild/buildctx"
	"github.com/mongoose-os/mos/fwbuild/metrics"
)

// Where a build's context comes from when it brings none that exists
// (package adopt has the policy).

// adoptOn: a copied context is only right where builds see their context
// at a fixed path: elsewhere its make dependency files name the source
// context's paths, and a header changed in the copy would not rebuild
// what includes it.
func (s *Server) adoptOn() bool { return s.cfg.AdoptContexts && s.cfg.BuildPathsFixed() }

// stockLine: a request of a stock client's line of builds: an account's,
// with no build_ctx and a whole-zip upload (stock deletes build/ before
// it reads build_ctx.txt; our client sends a plan, or its context).
func (req *request) stockLine() bool { return req.ns != "" && !req.named && !req.deltaUpload }

// lineContext names the context the request's line used last, when it
// still exists.
func (s *Server) lineContext(req *request) string {
	if !s.adoptOn() || !req.stockLine() {
		return ""
	}
	last := (adopt.Lines{Store: s.store}).Last(req.key, req.ns)
	if last == "" || !adopt.Exists(s.store, req.key, last) {
		return ""
	}
	return last
}

// recordLine makes the request's context its line's.
func (s *Server) recordLine(req *request) {
	if !s.adoptOn() || !req.stockLine() {
		return
	}
	if err := (adopt.Lines{Store: s.store}).Record(req.key, req.ns, req.name); err != nil {
		glog.Warningf("%s: %v", req.log, err)
	}
}

// seed starts the new, locked context c as a copy of the nearest one of
// the request's namespace (its own, and for a user its teams').
func (s *Server) seed(req *request, c *buildctx.Context, list []filetree.Entry) {
	if !s.adoptOn() || req.clean || !c.IsNew() {
		return
	}
	allowed := func(owner string) bool {
		if owner == req.ns {
			return true
		}
		g, team := strings.CutPrefix(owner, "team:")
		return team && s.accounts != nil && req.user != "" && strings.HasPrefix(req.ns, "user:") && s.accounts.InGroup(req.user, g)
	}
	sd, err := adopt.Seed(s.store, c, allowed, list)
	if err != nil {
		// c is left marked dirty: the update starts it afresh.
		glog.Warningf("%s: %v", req.log, err)
		return
	}
	if sd.From == "" {
		return
	}
	glog.Infof("%s: new context started as a copy of %s (%d of %d upload files alike; %d files copied)", req.log, sd.From, sd.Shared, len(list), sd.Files)
	req.rec.adoptedContext(fmt.Sprintf("copy of %s, %d files alike", sd.From, sd.Shared))
	s.metrics.ContextAdopted(metrics.AdoptCopy, sd.Shared)
}
