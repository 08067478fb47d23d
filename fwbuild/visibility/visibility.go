// Package visibility decides which builds and contexts the status page
// shows to whom: an account sees its own and its groups'; the users of
// the admin group (--admin-group) see all; without accounts, or with
// --status-public, everyone sees all; a viewer without credentials (the
// page served by --metrics-open or --metrics-address) sees only counts.
package visibility

import (
	"strings"

	"github.com/mongoose-os/mos/fwbuild/auth"
)

// Policy is the server's rule.
type Policy struct {
	Accounts   *auth.Accounts // nil: no accounts, one namespace
	AdminGroup string
	Public     bool
}

// Viewer is what one viewer may see.
type Viewer struct {
	all    bool
	user   string
	groups map[string]bool
}

// For returns what user ("" for no credentials) sees.
func (p Policy) For(user string) Viewer {
	if p.Accounts == nil || p.Public {
		return Viewer{all: true}
	}
	v := Viewer{user: user, groups: map[string]bool{}}
	if user == "" {
		return v
	}
	for _, g := range p.Accounts.Groups(user) {
		v.groups[g] = true
	}
	v.all = p.AdminGroup != "" && v.groups[p.AdminGroup]
	return v
}

// All reports whether the viewer sees everything.
func (v Viewer) All() bool { return v.all }

// CountsOnly reports whether the viewer sees only counts (no
// credentials).
func (v Viewer) CountsOnly() bool { return !v.all && v.user == "" }

// Build reports whether the viewer sees a build by user in context
// ctxName ("" while unknown).
func (v Viewer) Build(user, ctxName string) bool {
	if v.all {
		return true
	}
	if v.user == "" {
		return false
	}
	if g, ok := team(ctxName); ok {
		// A team build is the group's, whoever ran it; a refused try by
		// an outsider shows to the outsider only.
		return v.groups[g] || user == v.user
	}
	return user == v.user
}

// Namespace reports whether the viewer sees a context of namespace ns
// ("user:alice", "team:fw"; "" for one made without accounts: admins
// only).
func (v Viewer) Namespace(ns string) bool {
	if v.all {
		return true
	}
	if v.user == "" {
		return false
	}
	if u, ok := strings.CutPrefix(ns, "user:"); ok {
		return u == v.user
	}
	if g, ok := strings.CutPrefix(ns, "team:"); ok {
		return v.groups[g]
	}
	return false
}

// team returns the group of a team context name.
func team(ctxName string) (string, bool) {
	rest, ok := strings.CutPrefix(ctxName, auth.TeamPrefix)
	if !ok {
		return "", false
	}
	g, _, _ := strings.Cut(rest, "_")
	return g, true
}
