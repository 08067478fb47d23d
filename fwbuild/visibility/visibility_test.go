package visibility

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/mongoose-os/mos/fwbuild/auth"
)

func TestPolicy(t *testing.T) {
	h, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	var file strings.Builder
	for _, u := range []string{"alice", "bob", "root"} {
		file.WriteString(u + ":" + string(h) + "\n")
	}
	file.WriteString("group fw: alice\ngroup ops: root\n")
	a, err := auth.Parse(strings.NewReader(file.String()), "test")
	if err != nil {
		t.Fatal(err)
	}
	p := Policy{Accounts: a, AdminGroup: "ops"}
	alice, bob, root, anon := p.For("alice"), p.For("bob"), p.For("root"), p.For("")
	for _, tc := range []struct {
		who       string
		v         Viewer
		user, ctx string
		want      bool
	}{
		{"alice", alice, "alice", "a1", true},
		{"alice", alice, "bob", "b1", false},
		{"alice", alice, "bob", "team_fw_x", true}, // bob's refused try in her team's context
		{"bob", bob, "alice", "team_fw_x", false},
		{"bob", bob, "bob", "team_fw_x", true},
		{"root", root, "alice", "a1", true},
		{"anonymous", anon, "alice", "a1", false},
	} {
		if got := tc.v.Build(tc.user, tc.ctx); got != tc.want {
			t.Errorf("%s sees %s's build in %s: %v, want %v", tc.who, tc.user, tc.ctx, got, tc.want)
		}
	}
	for _, tc := range []struct {
		who  string
		v    Viewer
		ns   string
		want bool
	}{
		{"alice", alice, "user:alice", true}, {"alice", alice, "team:fw", true}, {"alice", alice, "user:bob", false},
		{"bob", bob, "team:fw", false}, {"alice", alice, "", false}, {"root", root, "", true}, {"anonymous", anon, "user:alice", false},
	} {
		if got := tc.v.Namespace(tc.ns); got != tc.want {
			t.Errorf("%s sees namespace %q: %v, want %v", tc.who, tc.ns, got, tc.want)
		}
	}
	if !anon.CountsOnly() || alice.CountsOnly() {
		t.Error("CountsOnly")
	}
	if v := (Policy{Accounts: a, Public: true}).For(""); !v.All() {
		t.Error("--status-public hides builds")
	}
	if v := (Policy{}).For(""); !v.All() {
		t.Error("without accounts the page hides builds")
	}
}
