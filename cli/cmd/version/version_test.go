package version

import (
	"strings"
	"testing"

	"github.com/mongoose-os/mos/cli/cmdutil"
	ver "github.com/mongoose-os/mos/common/version"
)

func TestVersionRun(t *testing.T) {
	io, _, out, errOut := cmdutil.Test()
	if err := versionRun(&VersionOptions{IO: io}); err != nil {
		t.Fatal(err)
	}
	want := "The Mongoose OS command line tool\nVersion: 2.20.0\n"
	if ver.PackageVersion != "" {
		want += "Package version: " + ver.PackageVersion + "\n"
	}
	want += "Build ID: " + ver.BuildID + "\n"
	if out.String() != want {
		t.Errorf("stdout = %q, want %q", out.String(), want)
	}
	if errOut.Len() != 0 {
		t.Errorf("stderr = %q, want empty", errOut.String())
	}
}

func TestNewCmdVersionRejectsArgs(t *testing.T) {
	io, _, _, _ := cmdutil.Test()
	cmd := NewCmdVersion(&cmdutil.Factory{IO: io}, func(*VersionOptions) error { return nil })
	cmd.SetArgs([]string{"extra"})
	cmd.SetOut(io.Out)
	cmd.SetErr(io.ErrOut)
	if err := cmd.Execute(); err == nil {
		t.Fatal("want an error for an extra argument")
	}
}

func TestWriteVersionPackageLine(t *testing.T) {
	for _, c := range []struct{ pkg, want string }{
		{"", "The Mongoose OS command line tool\nVersion: 2.20.0\nBuild ID: b1\n"},
		{"2.20.0+fork1", "The Mongoose OS command line tool\nVersion: 2.20.0\nPackage version: 2.20.0+fork1\nBuild ID: b1\n"},
	} {
		var b strings.Builder
		if err := writeVersion(&b, "2.20.0", c.pkg, "b1"); err != nil {
			t.Fatal(err)
		}
		if b.String() != c.want {
			t.Errorf("package %q: got %q, want %q", c.pkg, b.String(), c.want)
		}
	}
}
