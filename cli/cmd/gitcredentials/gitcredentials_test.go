package gitcredentials

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/cli/cmdutil"
	"github.com/mongoose-os/mos/common/testenv"
)

func run(t *testing.T, opts *GitCredentialsOptions, stdin string) (string, error) {
	t.Helper()
	io, in, out, _ := cmdutil.Test()
	in.WriteString(stdin)
	opts.IO = io
	err := gitCredentialsRun(opts)
	return out.String(), err
}

func TestGetAnswersForHost(t *testing.T) {
	creds := "github.com:ghtok,git.example.com:me:secret,fallback"
	for _, tc := range []struct{ stdin, want string }{
		{"protocol=https\nhost=git.example.com\npath=team/lib.git\n\n", "username=me\npassword=secret\n"},
		{"protocol=https\nhost=git.example.com:8443\n\n", "username=me\npassword=secret\n"},
		{"protocol=https\nhost=github.com\n", "username=mos\npassword=ghtok\n"},
		{"protocol=https\nhost=other.example.org\n\n", "username=mos\npassword=fallback\n"},
	} {
		out, err := run(t, &GitCredentialsOptions{Credentials: creds, Operation: "get"}, tc.stdin)
		if err != nil || out != tc.want {
			t.Errorf("stdin %q: out %q err %v, want %q", tc.stdin, out, err, tc.want)
		}
	}
}

func TestNoEntryNoAnswer(t *testing.T) {
	out, err := run(t, &GitCredentialsOptions{Credentials: "github.com:tok"}, "host=gitlab.com\n\n")
	if err != nil || out != "" {
		t.Errorf("out %q err %v, want nothing", out, err)
	}
}

func TestStoreAndEraseSayNothing(t *testing.T) {
	for _, op := range []string{"store", "erase"} {
		out, err := run(t, &GitCredentialsOptions{Credentials: "tok", Operation: op}, "host=github.com\nusername=x\npassword=y\n\n")
		if err != nil || out != "" {
			t.Errorf("%s: out %q err %v", op, out, err)
		}
	}
}

func TestNeedsCredentials(t *testing.T) {
	_, err := run(t, &GitCredentialsOptions{}, "host=github.com\n\n")
	if err == nil || !strings.Contains(err.Error(), "--credentials") {
		t.Errorf("err = %v", err)
	}
}

func TestGHTokenIsForGitHub(t *testing.T) {
	out, _ := run(t, &GitCredentialsOptions{GHToken: "tok"}, "host=github.com\n\n")
	if out != "username=mos\npassword=tok\n" {
		t.Errorf("github.com: %q", out)
	}
	out, _ = run(t, &GitCredentialsOptions{GHToken: "tok"}, "host=gitlab.com\n\n")
	if out != "" {
		t.Errorf("--gh-token must not be sent to other hosts: %q", out)
	}
}

func TestNewCmdGitCredentials(t *testing.T) {
	f := cmdutil.New()
	var got *GitCredentialsOptions
	cmd := NewCmdGitCredentials(f, func(o *GitCredentialsOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"get", "--credentials", "@/x/creds"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Operation != "get" || got.Credentials != "@/x/creds" {
		t.Errorf("options %+v", got)
	}
	cmd = NewCmdGitCredentials(f, func(o *GitCredentialsOptions) error { return nil })
	cmd.SetArgs([]string{"approve"})
	cmd.SetErr(&bytes.Buffer{})
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "approve") {
		t.Errorf("err = %v", err)
	}
}

// TestGitUsesHelper has real git ask the helper: `git credential fill`
// with credential.helper set to this test binary, whose TestMain runs the
// helper.
func TestGitUsesHelper(t *testing.T) {
	testenv.RequireTool(t, "git")
	dir := t.TempDir()
	credsFile := filepath.Join(dir, "creds")
	if err := os.WriteFile(credsFile, []byte("git.example.com:alice:s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	helper := "!MOS_TEST_HELPER_CREDS=" + credsFile + " '" + exe + "'"
	cmd := exec.Command("git", "-c", "credential.helper=", "-c", "credential.helper="+helper, "credential", "fill")
	cmd.Env = append(testenv.GitEnv(), "GIT_TERMINAL_PROMPT=0")
	cmd.Stdin = strings.NewReader("protocol=https\nhost=git.example.com\n\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git credential fill: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "username=alice\n") || !strings.Contains(string(out), "password=s3cret\n") {
		t.Errorf("git did not get the helper's answer:\n%s", out)
	}
}

// TestMain runs the helper instead of the tests when git calls this test
// binary as its credential helper (TestGitUsesHelper).
func TestMain(m *testing.M) {
	if creds := os.Getenv("MOS_TEST_HELPER_CREDS"); creds != "" {
		opts := &GitCredentialsOptions{
			IO:          &cmdutil.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr},
			Credentials: "@" + creds,
			Operation:   os.Args[len(os.Args)-1], // git appends get, store or erase
		}
		if err := gitCredentialsRun(opts); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
