package protocol

import (
	"fmt"
	"os"
	"time"

	"gopkg.in/yaml.v2"
)

// BuildParams are a build's parameters: what `mos build` flags say, sent to
// the server as the build_params form field and read back by
// `mos build --build-params FILE`. It must marshal exactly as upstream's
// struct does with yaml.v2: no yaml tags, so each key is the lower-cased
// field name, and ManifestAdjustments is embedded WITHOUT ",inline", which
// yaml.v2 writes as a nested `manifestadjustments:` mapping (flattened keys
// would be silently ignored by a stock server-side mos).
type BuildParams struct {
	ManifestAdjustments
	Clean                 bool
	DryRun                bool
	Verbose               bool
	BuildTarget           string
	CustomLibLocations    map[string]string
	CustomModuleLocations map[string]string
	LibsUpdateInterval    time.Duration // yaml.v2 writes "1h0m0s"
	NoPlatformCheck       bool
	SaveBuildStat         bool
	PreferPrebuiltLibs    bool
	// Credentials maps a host ("" for any host) to what git and release
	// downloads use there.
	Credentials map[string]Credentials
}

// ManifestAdjustments are the command line's changes to the manifest.
type ManifestAdjustments struct {
	Platform           string
	BuildVars          map[string]string
	CDefs              map[string]string
	CFlags             []string
	CXXFlags           []string
	ExtraLibs          []LibSpec
	DepsVersions       *DepsManifest
	StrictDepsVersions bool
}

// Credentials for one host.
type Credentials struct {
	User string
	Pass string
}

// LibSpec is a lib or module entry as mos.yml writes it (--lib-extra
// carries them); the manifest engine's Dep is this type.
type LibSpec struct {
	Type     string `yaml:"type,omitempty" json:"type,omitempty"`
	Name     string `yaml:"name,omitempty" json:"name,omitempty"`
	Location string `yaml:"location,omitempty" json:"location,omitempty"`
	Origin   string `yaml:"origin,omitempty" json:"origin,omitempty"`
	Version  string `yaml:"version,omitempty" json:"version,omitempty"`
	Variant  string `yaml:"variant,omitempty" json:"variant,omitempty"`
	AssetAPI string `yaml:"asset_api,omitempty" json:"asset_api,omitempty"`
}

// DepsManifestVersion is written as manifest_version of mgos_deps_manifest.yml.
const DepsManifestVersion = "2021-03-26"

// DepsManifest lists the exact versions of libs, modules and binary blobs
// that went into a firmware (build/gen/mgos_deps_manifest.yml, and the
// --deps-versions file).
type DepsManifest struct {
	AppName         string               `yaml:"app_name,omitempty" json:"app_name,omitempty"`
	Libs            []*DepsManifestEntry `yaml:"libs,omitempty" json:"libs,omitempty"`
	Modules         []*DepsManifestEntry `yaml:"modules,omitempty" json:"modules,omitempty"`
	ManifestVersion string               `yaml:"manifest_version,omitempty" json:"manifest_version,omitempty"`
}

// DepsManifestEntry is one lib or module of a DepsManifest.
type DepsManifestEntry struct {
	Name        string           `yaml:"name,omitempty" json:"name,omitempty"`
	Location    string           `yaml:"location,omitempty" json:"location,omitempty"`
	Version     string           `yaml:"version,omitempty" json:"version,omitempty"`
	UserVersion string           `yaml:"user_version,omitempty" json:"user_version,omitempty"`
	RepoVersion string           `yaml:"repo_version,omitempty" json:"repo_version,omitempty"`
	RepoDirty   bool             `yaml:"repo_dirty,omitempty" json:"repo_dirty,omitempty"`
	Blobs       []*DepsBlobEntry `yaml:"blobs,omitempty" json:"blobs,omitempty"`
}

// DepsBlobEntry is one prebuilt binary of a lib.
type DepsBlobEntry struct {
	Name   string `yaml:"name,omitempty" json:"name,omitempty"`
	Size   int    `yaml:"size,omitempty" json:"size,omitempty"`
	SHA256 string `yaml:"cs_sha256,omitempty" json:"cs_sha256,omitempty"`
}

// Marshal returns the YAML the build_params field carries.
func (bp *BuildParams) Marshal() ([]byte, error) {
	return yaml.Marshal(bp)
}

// ParseBuildParams reads build params YAML non-strictly, as server-side mos
// does: missing keys are zero values, unknown keys are ignored.
func ParseBuildParams(data []byte) (*BuildParams, error) {
	var bp BuildParams
	if err := yaml.Unmarshal(data, &bp); err != nil {
		return nil, err
	}
	return &bp, nil
}

// ReadBuildParams reads a build params file (mos build --build-params FILE).
func ReadBuildParams(file string) (*BuildParams, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading build params: %w", err)
	}
	bp, err := ParseBuildParams(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return bp, nil
}

// CredentialsFor returns the credentials for host: an exact host entry,
// else the host-less one, else nil.
func (bp *BuildParams) CredentialsFor(host string) *Credentials {
	if c, ok := bp.Credentials[host]; ok {
		return &c
	}
	if c, ok := bp.Credentials[""]; ok {
		return &c
	}
	return nil
}
