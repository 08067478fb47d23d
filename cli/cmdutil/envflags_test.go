package cmdutil

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestEnvName(t *testing.T) {
	if got := EnvName("keep-build-dir"); got != "MOS_KEEP_BUILD_DIR" {
		t.Errorf("EnvName = %q", got)
	}
}

func TestApplyEnv(t *testing.T) {
	env := map[string]string{
		"MOS_PLATFORM":       "esp32",
		"MOS_KEEP_BUILD_DIR": "true",
		"MOS_BUILD_VAR":      "A=1,B=2",
		"MOS_SERVER":         "http://from-env",
	}
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	platform := fs.String("platform", "", "")
	keep := fs.Bool("keep-build-dir", false, "")
	vars := fs.StringSlice("build-var", nil, "")
	server := fs.String("server", "default", "")
	if err := fs.Parse([]string{"--server", "http://from-cli"}); err != nil {
		t.Fatal(err)
	}
	if err := ApplyEnv(fs, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if *platform != "esp32" || !*keep || strings.Join(*vars, ";") != "A=1;B=2" {
		t.Errorf("got platform=%q keep=%v vars=%v", *platform, *keep, *vars)
	}
	if *server != "http://from-cli" {
		t.Errorf("command line must win over env, got server=%q", *server)
	}
}

func TestApplyEnvBadValue(t *testing.T) {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	fs.Bool("clean", false, "")
	err := ApplyEnv(fs, func(k string) string {
		if k == "MOS_CLEAN" {
			return "maybe"
		}
		return ""
	})
	if err == nil || !strings.Contains(err.Error(), "MOS_CLEAN") {
		t.Fatalf("want an error naming MOS_CLEAN, got %v", err)
	}
}
