// Package genfiles writes the files a build's gen dir holds besides what
// the platform makefiles produce: mos_final.yml, mgos_deps_manifest.yml,
// mgos_deps_init.c, mos_conf_schema.yml and vars.mk.
//
// Files make depends on (mgos_deps_init.c, mos_conf_schema.yml) get the
// mtime of the newest manifest the build read, so regenerating them with
// the same content does not make anything recompile.
package genfiles

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v2"

	"github.com/mongoose-os/mos/cli/manifest"
	"github.com/mongoose-os/mos/common/protocol"
)

// Names of the generated files in the gen dir.
const (
	FinalManifestFile = "mos_final.yml"
	DepsManifestFile  = manifest.DepsManifestFile
	DepsInitFile      = manifest.DepsInitFile
	ConfSchemaFile    = "mos_conf_schema.yml"
	VarsFile          = "vars.mk"
)

// MarshalFinal is the content of mos_final.yml for m, byte for byte what
// upstream writes (yaml.v2 of the manifest struct).
func MarshalFinal(m *manifest.Manifest) ([]byte, error) {
	data, err := yaml.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", FinalManifestFile, err)
	}
	return data, nil
}

// WriteFinal writes mos_final.yml and returns its path.
func WriteFinal(genDir string, m *manifest.Manifest) (string, error) {
	data, err := MarshalFinal(m)
	if err != nil {
		return "", err
	}
	return write(genDir, FinalManifestFile, data, time.Time{})
}

// WriteDepsManifest writes mgos_deps_manifest.yml.
func WriteDepsManifest(genDir string, dm *protocol.DepsManifest) error {
	if dm == nil {
		return fmt.Errorf("%s: no deps manifest (not an app build)", DepsManifestFile)
	}
	data, err := yaml.Marshal(dm)
	if err != nil {
		return fmt.Errorf("%s: %w", DepsManifestFile, err)
	}
	_, err = write(genDir, DepsManifestFile, data, time.Time{})
	return err
}

// WriteDepsInit writes mgos_deps_init.c with mtime as its modification
// time (zero: leave it).
func WriteDepsInit(genDir string, data []byte, mtime time.Time) error {
	if data == nil {
		return fmt.Errorf("%s: no content (not an app build)", DepsInitFile)
	}
	_, err := write(genDir, DepsInitFile, data, mtime)
	return err
}

// WriteConfSchema writes mos_conf_schema.yml (yaml.v2 of the list) with
// mtime as its modification time and returns its path; an empty schema
// writes nothing and returns "".
func WriteConfSchema(genDir string, schema []manifest.ConfigSchemaItem, mtime time.Time) (string, error) {
	if len(schema) == 0 {
		return "", nil
	}
	data, err := yaml.Marshal(schema)
	if err != nil {
		return "", fmt.Errorf("%s: %w", ConfSchemaFile, err)
	}
	return write(genDir, ConfSchemaFile, data, mtime)
}

// VarsMk is the content of vars.mk: NAME=value per variable, sorted by
// name, joined with "\n" and no final newline; in values CR and LF become
// spaces and '#' becomes `\#`. Values are make text: see MakeLiteral and
// BuildVarValue for literal ones.
func VarsMk(vars map[string]string) []byte {
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	sort.Strings(names)
	esc := strings.NewReplacer("\r", " ", "\n", " ", "#", `\#`)
	lines := make([]string, len(names))
	for i, k := range names {
		v := esc.Replace(vars[k])
		if strings.HasSuffix(v, `\`) {
			v += "$()" // the empty variable: a final backslash must not join the next line
		}
		lines[i] = k + "=" + v
	}
	return []byte(strings.Join(lines, "\n"))
}

// WriteVarsMk writes vars.mk (see VarsMk) and returns its path.
func WriteVarsMk(genDir string, vars map[string]string) (string, error) {
	return write(genDir, VarsFile, VarsMk(vars), time.Time{})
}

// write writes data to genDir/name (creating genDir) and sets its mtime
// when one is given.
func write(genDir, name string, data []byte, mtime time.Time) (string, error) {
	if err := os.MkdirAll(genDir, 0o755); err != nil {
		return "", fmt.Errorf("creating gen dir: %w", err)
	}
	file := filepath.Join(genDir, name)
	if err := os.WriteFile(file, data, 0o644); err != nil {
		return "", fmt.Errorf("writing %s: %w", name, err)
	}
	if !mtime.IsZero() {
		if err := os.Chtimes(file, mtime, mtime); err != nil {
			return "", fmt.Errorf("setting mtime of %s: %w", name, err)
		}
	}
	return file, nil
}
