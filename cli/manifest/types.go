package manifest

import (
	"context"

	"github.com/mongoose-os/mos/common/protocol"
)

// Manifest is one mos.yml (or a mos_<platform>.yml, a cond's apply block,
// the root manifest, or the final merged result). Field order and yaml tags
// are upstream's: mos_final.yml is this struct marshalled with yaml.v2, so
// the order below is the order of keys in that file.
type Manifest struct {
	Name    string `yaml:"name,omitempty" json:"name"`
	Type    string `yaml:"type,omitempty" json:"type"`
	Version string `yaml:"version,omitempty" json:"version"`
	Summary string `yaml:"summary,omitempty" json:"summary"`
	// Arch is the deprecated spelling of Platform.
	Arch        string      `yaml:"arch,omitempty" json:"arch"`
	Platform    string      `yaml:"platform,omitempty" json:"platform"`
	Platforms   []string    `yaml:"platforms,omitempty" json:"platforms"`
	Author      string      `yaml:"author,omitempty" json:"author"`
	Description string      `yaml:"description,omitempty" json:"description"`
	Sources     []string    `yaml:"sources,omitempty" json:"sources"`
	Includes    []string    `yaml:"includes,omitempty" json:"includes"`
	Filesystem  []string    `yaml:"filesystem,omitempty" json:"filesystem"`
	FSFilters   []*FSFilter `yaml:"fs_filters,omitempty" json:"fs_filters"`

	BinaryLibs     []string           `yaml:"binary_libs,omitempty" json:"binary_libs"`
	ExtraFiles     []string           `yaml:"extra_files,omitempty" json:"extra_files"`
	FFISymbols     []string           `yaml:"ffi_symbols,omitempty" json:"ffi_symbols"`
	Tests          []string           `yaml:"tests,omitempty" json:"tests"`
	Modules        []Dep              `yaml:"modules,omitempty" json:"modules"`
	Libs           []Dep              `yaml:"libs,omitempty" json:"libs"`
	InitAfter      []string           `yaml:"init_after,omitempty" json:"init_after"`
	InitBefore     []string           `yaml:"init_before,omitempty" json:"init_before"`
	NoImplInitDeps bool               `yaml:"no_implicit_init_deps,omitempty" json:"no_implicit_init_deps"`
	ConfigSchema   []ConfigSchemaItem `yaml:"config_schema,omitempty" json:"config_schema"`
	BuildVars      map[string]string  `yaml:"build_vars,omitempty" json:"build_vars"`
	CFlags         []string           `yaml:"cflags,omitempty" json:"cflags"`
	CXXFlags       []string           `yaml:"cxxflags,omitempty" json:"cxxflags"`
	CDefs          map[string]string  `yaml:"cdefs,omitempty" json:"cdefs"`
	Tags           []string           `yaml:"tags,omitempty" json:"tags"`

	Warning string `yaml:"warning,omitempty" json:"warning"`
	Error   string `yaml:"error,omitempty" json:"error"`

	LibsVersion       string `yaml:"libs_version,omitempty" json:"libs_version"`
	ModulesVersion    string `yaml:"modules_version,omitempty" json:"modules_version"`
	MongooseOSVersion string `yaml:"mongoose_os_version,omitempty" json:"mongoose_os_version"`

	Conds []Cond `yaml:"conds,omitempty" json:"conds"`

	ManifestVersion string `yaml:"manifest_version,omitempty" json:"manifest_version"`

	// Output only: the libs of the build in libs order, and the init order.
	LibsHandled []LibHandled `yaml:"libs_handled,omitempty" json:"libs_handled"`
	InitDeps    []string     `yaml:"init_deps,omitempty" json:"init_deps"`

	// Origin names where this manifest came from (a file path, or
	// "<origin> cond <i>") for messages; never written.
	Origin string `yaml:"-" json:"-"`
}

// Dep is one entry of `libs:` or `modules:`: a reference to a lib or
// module (type, name, location, origin, version, variant, asset_api). It is
// the same type the build params carry for --lib-extra.
type Dep = protocol.LibSpec

// Cond is one `conds:` entry.
type Cond struct {
	When  string    `yaml:"when,omitempty" json:"when,omitempty"`
	Apply *Manifest `yaml:"apply,omitempty" json:"apply,omitempty"`
	Error string    `yaml:"error,omitempty" json:"error,omitempty"`
}

// FSFilter is one `fs_filters:` entry; exactly one field is set.
type FSFilter struct {
	Include string `yaml:"include,omitempty" json:"include"`
	Exclude string `yaml:"exclude,omitempty" json:"exclude"`
}

// ConfigSchemaItem is one config_schema entry, an arbitrary YAML list such
// as ["foo.bar", "o", {title: "Foo"}].
type ConfigSchemaItem []interface{}

// LibHandled is one lib of the build, as recorded in libs_handled.
type LibHandled struct {
	Lib         Dep      `yaml:"lib,omitempty" json:"lib"`
	Path        string   `yaml:"path,omitempty" json:"path"`
	Deps        []string `yaml:"deps,omitempty" json:"deps"`
	InitDeps    []string `yaml:"init_deps,omitempty" json:"init_deps"`
	Sources     []string `yaml:"sources,omitempty" json:"sources"`
	BinaryLibs  []string `yaml:"binary_libs,omitempty" json:"binary_libs"`
	Version     string   `yaml:"version,omitempty" json:"version"`
	UserVersion string   `yaml:"user_version,omitempty" json:"user_version"`
	RepoVersion string   `yaml:"repo_version,omitempty" json:"repo_version"`
	RepoDirty   bool     `yaml:"repo_dirty,omitempty" json:"repo_dirty"`

	// Manifest is the lib's own manifest; never written.
	Manifest *Manifest `yaml:"-" json:"-"`
}

// Fetched says where a lib's or module's files are on disk and, when they
// are a git checkout the provider made or updated, which commit it holds.
type Fetched struct {
	Dir         string // absolute, symlinks not resolved
	RepoVersion string // commit hash, "" when not a git checkout
	RepoDirty   bool   // the checkout has local changes
}

// Provider finds the files of libs and modules: the --lib/--libs-dir/deps
// lookup and git fetching of a real build (package libs), or fixed dirs in
// tests. The engine calls it from one goroutine.
type Provider interface {
	// Lib returns the dir of the lib ref refers to. defaultVersion is the
	// app's libs_version, used when ref.Version is empty. The provider may
	// rewrite ref.Location when the user overrode it (--lib NAME:URL).
	Lib(ctx context.Context, ref *Dep, appDir, defaultVersion, platform string) (Fetched, error)
	// Module is Lib for modules (modules_version / mongoose_os_version).
	// The provider may rewrite ref.Location (--module, --repo).
	Module(ctx context.Context, ref *Dep, appDir, defaultVersion, platform string) (Fetched, error)
	// PrebuiltLib returns the path of a prebuilt binary of lib ref for
	// variant at version (release tag), or "" with a nil error when there is
	// none.
	PrebuiltLib(ctx context.Context, ref *Dep, variant, version string) (string, error)
}
