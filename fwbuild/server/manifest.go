package server

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v2"
)

// appManifest is what the server needs from the uploaded mos.yml.
type appManifest struct {
	Name     string `yaml:"name"`
	Platform string `yaml:"platform"`
	Arch     string `yaml:"arch"`
}

// maxManifestSize bounds the mos.yml the server parses.
const maxManifestSize = 4 << 20

// readAppManifest reads name and platform from the mos.yml at the top of
// the unpacked upload: platform, else arch, else the platform of the build
// params, lower-cased as stock mos does.
func readAppManifest(srcDir, paramsPlatform string) (app, platform string, err error) {
	return readManifestFile(filepath.Join(srcDir, "mos.yml"), paramsPlatform)
}

// readManifestFile is readAppManifest for the mos.yml at p.
func readManifestFile(p, paramsPlatform string) (app, platform string, err error) {
	fi, err := os.Lstat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", "", errorf(http.StatusBadRequest, "source.zip: no mos.yml at the top level")
	case err != nil:
		return "", "", fmt.Errorf("reading mos.yml: %w", err)
	case !fi.Mode().IsRegular():
		return "", "", errorf(http.StatusBadRequest, "source.zip: mos.yml is not a file")
	case fi.Size() > maxManifestSize:
		return "", "", errorf(http.StatusBadRequest, "mos.yml: larger than %d bytes", maxManifestSize)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return "", "", fmt.Errorf("reading mos.yml: %w", err)
	}
	var m appManifest
	if err := yaml.Unmarshal(b, &m); err != nil {
		return "", "", errorf(http.StatusBadRequest, "mos.yml: %w", err)
	}
	platform = m.Platform
	if platform == "" {
		platform = m.Arch
	}
	if platform == "" {
		platform = paramsPlatform
	}
	if platform == "" {
		return "", "", errorf(http.StatusBadRequest, "mos.yml: no platform (nor arch), and build_params names none")
	}
	if m.Name == "" {
		return "", "", errorf(http.StatusBadRequest, "mos.yml: no name")
	}
	return m.Name, strings.ToLower(platform), nil
}
