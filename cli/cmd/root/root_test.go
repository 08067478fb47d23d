package root

import (
	"context"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/cli/cmdutil"
)

func testFactory(env map[string]string) (*cmdutil.Factory, func() (string, string)) {
	io, _, out, errOut := cmdutil.Test()
	f := cmdutil.New()
	f.IO = io
	f.Getenv = func(k string) string { return env[k] }
	return f, func() (string, string) { return out.String(), errOut.String() }
}

func TestVersionCommand(t *testing.T) {
	f, outputs := testFactory(nil)
	if code := Run(context.Background(), f, []string{"version"}); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	out, errOut := outputs()
	if !strings.Contains(out, "Version: 2.20.0\n") || errOut != "" {
		t.Errorf("stdout %q stderr %q", out, errOut)
	}
}

func TestHelpListsCommands(t *testing.T) {
	f, outputs := testFactory(nil)
	if code := Run(context.Background(), f, []string{"help"}); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	out, _ := outputs()
	if !strings.Contains(out, "version") {
		t.Errorf("help does not list version:\n%s", out)
	}
}

func TestUnknownFlagIsFlagError(t *testing.T) {
	f, outputs := testFactory(nil)
	if code := Run(context.Background(), f, []string{"version", "--no-such-flag"}); code != 2 {
		t.Fatalf("exit code %d, want 2", code)
	}
	_, errOut := outputs()
	if !strings.Contains(errOut, "--no-such-flag") || !strings.Contains(errOut, "mos help") {
		t.Errorf("stderr %q", errOut)
	}
}

func TestGlobalFlagFromEnv(t *testing.T) {
	f, _ := testFactory(map[string]string{"MOS_VERBOSE": "true", "MOS_TEMP_DIR": "/x/tmp"})
	if code := Run(context.Background(), f, []string{"version"}); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if !f.Global.Verbose || f.Global.TempDir != "/x/tmp" {
		t.Errorf("globals from env not applied: %+v", *f.Global)
	}
}

func TestBadChdir(t *testing.T) {
	f, outputs := testFactory(nil)
	if code := Run(context.Background(), f, []string{"-C", "/no/such/dir", "version"}); code != 1 {
		t.Fatalf("exit code %d, want 1", code)
	}
	_, errOut := outputs()
	if !strings.Contains(errOut, "/no/such/dir") {
		t.Errorf("stderr %q", errOut)
	}
}
