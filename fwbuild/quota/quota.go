// Package quota bounds the disk one account (one group) can take and
// keeps a floor of free disk on the volumes, so that no account fills the
// disk for everyone: an upload is unpacked only within what is left of its
// namespace's quota and of the free disk above the floor (the limit is
// applied while unpacking, not after), collection removes contexts while
// free disk is under the floor (buildctx.CollectOptions.MinFree), and
// /readyz fails under it.
package quota

import (
	"errors"
	"fmt"
	"strings"
)

// Errors callers tell apart.
var (
	// ErrQuota: the namespace's contexts already take its quota.
	ErrQuota = errors.New("disk quota used up")
	// ErrDiskLow: free disk is under the floor.
	ErrDiskLow = errors.New("free disk under the floor")
)

// Policy is the server's disk rule.
type Policy struct {
	Account, Team int64 // quota of a user's, a group's contexts; 0: none
	MinFree       int64 // free disk floor; 0: none
	// Free returns the free bytes on the volumes (negative: unknown).
	Free func() int64
}

// Limit is the quota of namespace ns ("user:alice", "team:fw"; "" the
// anonymous namespace of a server without accounts, which has none); 0:
// none.
func (p Policy) Limit(ns string) int64 {
	switch {
	case strings.HasPrefix(ns, "user:"):
		return p.Account
	case strings.HasPrefix(ns, "team:"):
		return p.Team
	}
	return 0
}

// Allowance is how many bytes an upload of ns, whose contexts take used
// bytes, may unpack to, at most max: what is left of its quota and of the
// free disk above the floor. It fails when nothing is left.
func (p Policy) Allowance(ns string, used, max int64) (int64, error) {
	allow := max
	if q := p.Limit(ns); q > 0 {
		left := q - used
		if left <= 0 {
			return 0, fmt.Errorf("%w: %s's contexts take %d bytes of its quota of %d", ErrQuota, ns, used, q)
		}
		allow = min(allow, left)
	}
	if err := p.CheckFree(); err != nil {
		return 0, err
	}
	if p.MinFree > 0 && p.Free != nil {
		if free := p.Free(); free >= 0 {
			allow = min(allow, free-p.MinFree)
		}
	}
	return allow, nil
}

// CheckFree fails when free disk is under the floor.
func (p Policy) CheckFree() error {
	if p.MinFree <= 0 || p.Free == nil {
		return nil
	}
	if free := p.Free(); free >= 0 && free < p.MinFree {
		return fmt.Errorf("%w: %d bytes free, the floor is %d (--min-free-disk)", ErrDiskLow, free, p.MinFree)
	}
	return nil
}
