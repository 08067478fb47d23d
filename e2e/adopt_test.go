package e2e

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/mongoose-os/mos/bench/harness"
	"github.com/mongoose-os/mos/common/fwcompare"
)

// sameFirmware fails unless the build dirs hold the same firmware.
func sameFirmware(t *testing.T, what, got, want string) {
	t.Helper()
	r, err := fwcompare.BuildDirs(got, want)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if !r.Equal() || r.Compared == 0 {
		t.Errorf("%s: differs from a clean build (%d bytes compared): %v", what, r.Compared, r.Diffs)
	}
}

// TestNewContextStartsFromTheNearest: the first build of a new
// --build-context for an app built before starts as a copy of that
// context: it compiles nothing but what differs, and its firmware is a
// clean build's.
func TestNewContextStartsFromTheNearest(t *testing.T) {
	for _, runner := range []string{"native", "docker"} {
		t.Run(runner, func(t *testing.T) { newContextStartsFromTheNearest(t, newEnvWith(t, runner)) })
	}
}

func newContextStartsFromTheNearest(t *testing.T, e *env) {
	main := e.checkout("main")
	cold := e.build(main, "--repo", "../sdk-host", "--build-context", "main")
	if cold.Compiled < 5 {
		t.Fatalf("cold build compiled %d files", cold.Compiled)
	}
	feature := e.checkout("feature")
	appendTo(t, filepath.Join(feature, "src", "main.c"), "\nint feature_x(void) { return 42; }\n")
	first := e.build(feature, "--repo", "../sdk-host", "--build-context", "feature_x")
	if first.Compiled > 2 {
		t.Errorf("first build of a new context compiled %d files (cold: %d), want the edited one (and build info)\n%s", first.Compiled, cold.Compiled, first.Output)
	}
	ref := e.checkout("ref")
	appendTo(t, filepath.Join(ref, "src", "main.c"), "\nint feature_x(void) { return 42; }\n")
	e.build(ref, "--repo", "../sdk-host", "--build-context", "ref_clean", "--clean")
	sameFirmware(t, "new context from the nearest", filepath.Join(feature, "build"), filepath.Join(ref, "build"))
	log, _ := os.ReadFile(filepath.Join(e.work, "server.log"))
	if !strings.Contains(string(log), "started as a copy of main") {
		t.Errorf("the server log does not say the new context was a copy of main")
	}
}

// TestStockClientKeepsItsContext: a stock client (whole zip, no context:
// it deletes build/ before every build) of an account goes back to the
// context it used last, so its unchanged rebuild compiles nothing; another
// account's build of the same app never starts from it.
func TestStockClientKeepsItsContext(t *testing.T) {
	for _, runner := range []string{"native", "docker"} {
		t.Run(runner, func(t *testing.T) { stockClientKeepsItsContext(t, runner) })
	}
}

func stockClientKeepsItsContext(t *testing.T, runner string) {
	work := t.TempDir()
	var users strings.Builder
	for _, u := range []string{"alice", "mallory"} {
		h, err := bcrypt.GenerateFromPassword([]byte(u+" pw"), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		users.WriteString(u + ":" + string(h) + "\n")
	}
	authFile := filepath.Join(work, "users")
	if err := os.WriteFile(authFile, []byte(users.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, runner, "--auth-file", authFile)
	srv := e.srv
	stock := func(user, app string) harness.Result {
		t.Helper()
		// What stock mos does: build/ goes before the build, the whole
		// source zip goes up.
		os.RemoveAll(filepath.Join(app, "build"))
		u, _ := url.Parse(srv.URL())
		u.User = url.UserPassword(user, user+" pw")
		r, err := harness.Build(context.Background(), bins.Mos, app, e.mosEnv,
			[]string{"build", "--server", u.String(), "--repo", "../sdk-host", "--no-delta"}, srv)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	app := e.checkout("alice")
	cold := stock("alice", app)
	if again := stock("alice", app); again.Compiled != 0 {
		t.Errorf("stock client's unchanged rebuild compiled %d files (cold %d)", again.Compiled, cold.Compiled)
	}
	appendTo(t, filepath.Join(app, "src", "main.c"), "\n/* edited */\n")
	if one := stock("alice", app); one.Compiled > 2 {
		t.Errorf("stock client's one-file rebuild compiled %d files", one.Compiled)
	}
	other := e.checkout("mallory")
	if m := stock("mallory", other); m.Compiled != cold.Compiled {
		t.Errorf("another account's first build compiled %d files, want all %d: it must not start from alice's context", m.Compiled, cold.Compiled)
	}
}
