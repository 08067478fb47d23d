package compose

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v2"

	"github.com/mongoose-os/mos/common/testenv"
	"github.com/mongoose-os/mos/fwbuild/config"
)

// The shipped compose files, read as Compose reads them: no obsolete
// `version:` key, and no service that would serve anonymously on an
// address other than loopback (each such server must be given accounts, or
// say --allow-anonymous on purpose, as the farm's do behind its proxy).
func TestComposeFilesSafe(t *testing.T) {
	root := testenv.RepoRoot(t)
	for _, tc := range []struct {
		file      string
		anonymous bool // --allow-anonymous expected
	}{
		{"fwbuild/docker-compose.yml", false},
		{"fwbuild/farm/compose.yml", true},
	} {
		b, err := os.ReadFile(filepath.Join(root, tc.file))
		if err != nil {
			t.Fatal(err)
		}
		var f struct {
			Version  *string `yaml:"version"`
			Services map[string]struct {
				Image   string   `yaml:"image"`
				Command any      `yaml:"command"` // a string or a list
				Volumes []string `yaml:"volumes"`
			} `yaml:"services"`
		}
		if err := yaml.Unmarshal(b, &f); err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if f.Version != nil {
			t.Errorf("%s: has the obsolete version: %q key (Compose v2 warns)", tc.file, *f.Version)
		}
		servers := 0
		for name, svc := range f.Services {
			if svc.Image != "fwbuild-manager:local" {
				continue
			}
			servers++
			c := config.Default()
			line, ok := svc.Command.(string)
			if !ok {
				t.Fatalf("%s: %s: command is %T, want the folded string these files use", tc.file, name, svc.Command)
			}
			args := strings.Fields(expandDefaults(line))
			for _, a := range args {
				k, v, _ := strings.Cut(a, "=")
				switch k {
				case "--address":
					c.Address = v
				case "--auth-file":
					c.AuthFile = v
					if !mounted(svc.Volumes, v) {
						t.Errorf("%s: %s: --auth-file %s is not mounted", tc.file, name, v)
					}
				case "--allow-anonymous":
					c.AllowAnonymous = true
				}
			}
			if c.AllowAnonymous != tc.anonymous {
				t.Errorf("%s: %s: --allow-anonymous %v, want %v", tc.file, name, c.AllowAnonymous, tc.anonymous)
			}
			if c.AuthFile == "" && !c.AllowAnonymous && !config.IsLoopback(c.ListenAddress()) {
				t.Errorf("%s: %s: serves anonymously on %q", tc.file, name, c.Address)
			}
			if err := c.Validate(); err != nil {
				t.Errorf("%s: %s: the server would refuse to start: %v", tc.file, name, err)
			}
		}
		if servers == 0 {
			t.Errorf("%s: no fwbuild-manager service found", tc.file)
		}
	}
}

var defaultRE = regexp.MustCompile(`\$\{[A-Z_]+:-([^}]*)\}`)

// expandDefaults replaces ${VAR:-default} with default, as Compose does
// when VAR is unset.
func expandDefaults(s string) string { return defaultRE.ReplaceAllString(s, "$1") }

func mounted(volumes []string, path string) bool {
	for _, v := range volumes {
		parts := strings.Split(expandDefaults(v), ":")
		if len(parts) >= 2 && parts[1] == path {
			return true
		}
	}
	return false
}
