package config

import (
	"flag"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

func TestCcacheFlags(t *testing.T) {
	c := Default()
	if !c.Ccache || c.CcacheDir != "" || c.CcacheRemote != "" {
		t.Fatalf("default: ccache %v dir %q remote %q; want on, <volumes>/ccache, no remote", c.Ccache, c.CcacheDir, c.CcacheRemote)
	}
	if got, want := c.CcachePath("/v"), filepath.Join("/v", "ccache"); got != want {
		t.Errorf("CcachePath = %q, want %q", got, want)
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.Register(fs)
	if err := fs.Parse([]string{"--ccache-dir=/cc", "--ccache-max-size=2G", "--ccache-remote=redis://127.0.0.1:6379", "--server-name=b2"}); err != nil {
		t.Fatal(err)
	}
	if c.CcachePath("/v") != "/cc" || c.CcacheMaxSize != "2G" || c.CcacheRemote != "redis://127.0.0.1:6379" || c.ServerName != "b2" {
		t.Errorf("parsed %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("valid flags refused: %v", err)
	}
	if err := fs.Parse([]string{"--ccache=false"}); err != nil || c.Ccache {
		t.Errorf("--ccache=false: ccache %v, err %v", c.Ccache, err)
	}
}

func TestCcacheValidate(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"remote without ccache", func(c *Config) { c.Ccache = false; c.CcacheRemote = "redis://h:1" }, "--ccache-remote needs --ccache"},
		{"remote scheme", func(c *Config) { c.CcacheRemote = "ftp://h/x" }, `--ccache-remote "ftp://h/x": want redis://host:port`},
		{"remote no host", func(c *Config) { c.CcacheRemote = "redis://" }, `--ccache-remote "redis://"`},
		{"size", func(c *Config) { c.CcacheMaxSize = "5 gigs" }, `--ccache-max-size "5 gigs"`},
		{"name", func(c *Config) { c.ServerName = "a\nb" }, "--server-name: must be one line"},
		{"trusted group without accounts", func(c *Config) { c.CcacheTrustedGroup = "ci" }, "--ccache-trusted-group needs --auth-file"},
		{"trusted group without ccache", func(c *Config) { c.AuthFile = "/u"; c.Ccache = false; c.CcacheTrustedGroup = "ci" }, "--ccache-trusted-group needs --auth-file and --ccache"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.mod(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
}
