package auth

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// hash makes a bcrypt hash at the lowest cost, as a test fixture.
func hash(t *testing.T, pass string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pass), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func TestParseAndCheck(t *testing.T) {
	// htpasswd -B writes $2y$, the same algorithm as Go's $2a$.
	bob := "$2y$" + strings.TrimPrefix(hash(t, "bob pw"), "$2a$")
	file := "# accounts\n\nalice:" + hash(t, "alice pw") + "\nbob:" + bob + "\ncarol:" + hash(t, "carol pw") +
		"\ngroup fw: alice, bob\ngroup qa:carol alice\n"
	p := filepath.Join(t.TempDir(), "users")
	if err := os.WriteFile(p, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(a.Users(), ","); got != "alice,bob,carol" {
		t.Errorf("users %s", got)
	}
	if got := strings.Join(a.Groups("alice"), ","); got != "fw,qa" {
		t.Errorf("alice's groups %s", got)
	}
	for _, tc := range []struct {
		user, pass string
		ok         bool
	}{
		{"alice", "alice pw", true},
		{"bob", "bob pw", true},
		{"alice", "bob pw", false},
		{"alice", "", false},
		{"mallory", "alice pw", false},
		{"test", "test", false},
		{"", "", false},
	} {
		if got := a.Check(tc.user, tc.pass); got != tc.ok {
			t.Errorf("Check(%q, %q) = %v, want %v", tc.user, tc.pass, got, tc.ok)
		}
	}
}

// A success is remembered: the next requests of the same user and
// password cost no bcrypt; failures are not remembered.
func TestCheckCachesSuccess(t *testing.T) {
	a, err := Parse(strings.NewReader("alice:"+hash(t, "pw")+"\n"), "users")
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if !a.Check("alice", "pw") {
			t.Fatal("right password refused")
		}
	}
	if n := a.bcrypts.Load(); n != 1 {
		t.Errorf("%d bcrypt comparisons for 3 checks of one password, want 1", n)
	}
	for range 2 {
		if a.Check("alice", "wrong") {
			t.Fatal("wrong password accepted")
		}
	}
	if n := a.bcrypts.Load(); n != 3 {
		t.Errorf("%d bcrypt comparisons, want 3 (failures are checked every time)", n)
	}
	// An unknown user costs a comparison too (no timing difference).
	a.Check("nobody", "pw")
	if n := a.bcrypts.Load(); n != 4 {
		t.Errorf("unknown user: %d comparisons, want 4", n)
	}
}

func TestParseErrors(t *testing.T) {
	h := hash(t, "x")
	cases := []struct{ file, want string }{
		{"alice\n", "users:1: want user:bcrypt-hash"},
		{"alice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n", `users:1: user "alice": the password hash is not bcrypt (make one with htpasswd -nB alice)`},
		{"alice:$apr1$abc$def\n", "not bcrypt"},
		{"alice:plain\n", "not bcrypt"},
		{"a:b:" + h + "\n", "not bcrypt"},
		{"al ice:" + h + "\n", `users:1: user name "al ice"`},
		{"\n\nalice:" + h + "\nalice:" + h + "\n", `users:4: user "alice" defined twice`},
		{"alice:" + h + "\ngroup f_w: alice\n", `users:2: group name "f_w": use 1 to 32 letters and digits`},
		{"alice:" + h + "\ngroup fw alice\n", "users:2: group line"},
		{"alice:" + h + "\ngroup fw: alice, bob\n", `users:2: group "fw": no user "bob" in the file`},
		{"alice:" + h + "\ngroup fw: alice\ngroup fw: alice\n", `users:3: group "fw" defined twice`},
		{"# nobody\n", "users: no users"},
	}
	for _, tc := range cases {
		if _, err := Parse(strings.NewReader(tc.file), "users"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.file, err, tc.want)
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing")); err == nil || !strings.HasPrefix(err.Error(), "--auth-file: open ") {
		t.Errorf("missing file: %v", err)
	}
}

func TestNamespace(t *testing.T) {
	h := hash(t, "x")
	a, err := Parse(strings.NewReader("alice:"+h+"\nbob:"+h+"\ngroup fw: alice\n"), "users")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		user, ctx, ns string
		err           error
	}{
		{"alice", "", "user:alice", nil},
		{"alice", "ci_main", "user:alice", nil},
		{"bob", "ci_main", "user:bob", nil},
		{"alice", "build_ctx_123", "user:alice", nil},
		{"alice", "team_fw", "team:fw", nil},
		{"alice", "team_fw_ci_main", "team:fw", nil},
		{"bob", "team_fw_ci_main", "", ErrNotMember},
		{"alice", "team_qa", "", ErrNotMember},
		{"alice", "team_", "", ErrNotMember},
		{"alice", "teamfw", "user:alice", nil},
	} {
		ns, err := a.Namespace(tc.user, tc.ctx)
		if ns != tc.ns || !errors.Is(err, tc.err) {
			t.Errorf("Namespace(%q, %q) = %q, %v; want %q, %v", tc.user, tc.ctx, ns, err, tc.ns, tc.err)
		}
	}
}
