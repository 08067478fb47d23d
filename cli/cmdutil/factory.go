package cmdutil

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
)

// GlobalOptions are the flags every command accepts (upstream's global
// flags that apply to this tool).
type GlobalOptions struct {
	Chdir         string // -C/--chdir: change to this dir first
	Verbose       bool   // --verbose: also log build output to stderr
	TempDir       string // --temp-dir: where temporary dirs go (default <mos dir>/tmp)
	KeepTempFiles bool   // --keep-temp-files
}

// Factory is what commands get from the outside world. Fields that cost
// something to make are funcs, so a command that does not use them never
// pays for them.
type Factory struct {
	IO     *IOStreams
	Global *GlobalOptions
	Getenv func(string) string
	// MosDir is the user's mos dir (~/.mos), home of caches.
	MosDir func() (string, error)
	// HTTPClient is the client remote builds use.
	HTTPClient func() (*http.Client, error)
	// Executable is the path of the running mos binary (used when mos calls
	// itself, e.g. as a git credential helper).
	Executable func() (string, error)
	// WorkDir is the project dir: the working dir after -C.
	WorkDir func() (string, error)
}

// New returns the production Factory.
func New() *Factory {
	return &Factory{
		IO:     System(),
		Global: &GlobalOptions{},
		Getenv: os.Getenv,
		MosDir: func() (string, error) {
			// MOS_DIR is for tests and unusual setups; ~/.mos as upstream otherwise.
			if d := os.Getenv("MOS_DIR"); d != "" {
				return d, nil
			}
			home, err := os.UserHomeDir()
			if err != nil {
				return "", fmt.Errorf("finding the mos dir: %w", err)
			}
			return filepath.Join(home, ".mos"), nil
		},
		// No overall timeout: a remote build takes as long as it takes.
		HTTPClient: func() (*http.Client, error) { return &http.Client{}, nil },
		Executable: os.Executable,
		WorkDir:    os.Getwd,
	}
}

// TempDir returns --temp-dir, or <mos dir>/tmp as upstream.
func (f *Factory) TempDir() (string, error) {
	if f.Global.TempDir != "" {
		return filepath.Abs(f.Global.TempDir)
	}
	md, err := f.MosDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(md, "tmp"), nil
}
