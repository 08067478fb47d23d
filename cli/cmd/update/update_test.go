package update

import (
	"strings"
	"testing"

	"github.com/mongoose-os/mos/cli/cmdutil"
)

func TestNewCmdUpdateArgs(t *testing.T) {
	f := cmdutil.New()
	var got *UpdateOptions
	cmd := NewCmdUpdate(f, func(o *UpdateOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"latest"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Channel != "latest" {
		t.Errorf("channel %q", got.Channel)
	}
	cmd = NewCmdUpdate(f, func(o *UpdateOptions) error { return nil })
	cmd.SetArgs([]string{"a", "b"})
	cmd.SetErr(&strings.Builder{})
	if err := cmd.Execute(); err == nil {
		t.Error("two args must be refused")
	}
}

func TestUpdateRunSaysHow(t *testing.T) {
	io, _, out, _ := cmdutil.Test()
	if err := updateRun(&UpdateOptions{IO: io, PackageVersion: "1.4.0-1", Channel: "release"}); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{"package version 1.4.0-1", "does not update itself", ".deb", ".tar.gz", "make build", `"release"`} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	out.Reset()
	_ = updateRun(&UpdateOptions{IO: io})
	if !strings.Contains(out.String(), "built from source") || strings.Contains(out.String(), "channel") {
		t.Errorf("a source build without a channel:\n%s", out.String())
	}
}
