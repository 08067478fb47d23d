package server

import (
	"errors"
	"time"

	"github.com/golang/glog"

	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/fwbuild/config"
	"github.com/mongoose-os/mos/fwbuild/kept"
)

// What the server keeps for a client's next request, each under the user
// who sent it, within the budgets of --kept-* (package kept): plans by id,
// and recent listings by digest, so that a client may send the next one
// as changes against it (protocol.PlanRequest.Base, protocol.HaveDelta).
// Losing one only costs a full listing or a new plan.

// planTTL is how long a plan is kept, listingsTTL a listing.
const (
	planTTL     = time.Hour
	listingsTTL = 24 * time.Hour
)

// Kinds of what is kept, the prefix of its id.
const (
	keptPlan        = "plan:"
	keptPlanListing = "plan-listing:"
	keptHave        = "have:"
)

func newKept(cfg config.Config) *kept.Store {
	all, account := cfg.KeptBudgets()
	lim := kept.Limits{MaxEntries: all, AccountEntries: account, MaxBytes: cfg.KeptMaxBytes, AccountBytes: cfg.KeptAccountBytes}
	if cfg.AuthFile == "" {
		// Every client is the one anonymous account.
		lim.AccountEntries, lim.AccountBytes = lim.MaxEntries, lim.MaxBytes
	}
	return kept.New(lim)
}

// entryBytes is about what one listing entry takes in memory: the path,
// the hex digest and the struct around them.
func entryBytes(path string) int64 { return int64(len(path)) + 128 }

func listBytes[T any](list []T, path func(T) string) int64 {
	var n int64
	for _, e := range list {
		n += entryBytes(path(e))
	}
	return n
}

// keepList keeps list for user under digest; one over the account's
// budget is not kept (the next request sends a full listing).
func keepList[T any](st *kept.Store, user, kind, digest string, list []T, path func(T) string) bool {
	err := st.Put(user, kind+digest, list, len(list), listBytes(list, path), listingsTTL)
	if errors.Is(err, kept.ErrOverBudget) {
		glog.Infof("listing of %d entries not kept for %q: %v", len(list), user, err)
		return false
	}
	return err == nil
}

// keptList returns the listing user keeps under digest, or nil.
func keptList[T any](st *kept.Store, user, kind, digest string) []T {
	v, ok := st.Get(user, kind+digest)
	if !ok {
		return nil
	}
	list, _ := v.([]T)
	return list
}

// keepPlanFor keeps p for its user under a fresh id, with its listing as
// a base for the user's next plan.
func (s *Server) keepPlanFor(p *plan, id string) error {
	keepList(s.kept, p.user, keptPlanListing, p.listing, p.files, protocol.EntryPath)
	return s.kept.Put(p.user, keptPlan+id, p, len(p.files), listBytes(p.files, protocol.EntryPath), planTTL)
}

// keptPlanOf returns user's plan id, or nil.
func (s *Server) keptPlanOf(user, id string) *plan {
	v, ok := s.kept.Get(user, keptPlan+id)
	if !ok {
		return nil
	}
	return v.(*plan)
}
