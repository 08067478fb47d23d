package execbits

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"strings"
)

// readRepo reads the index and core.fileMode of the work tree at top; nil
// when git is missing or fails (then the index rule is not used there).
func (r *Resolver) readRepo(top string) *repo {
	git := r.gitBinary()
	if git == "" {
		return nil
	}
	out, err := r.runGit(git, top, "ls-files", "--stage", "-z")
	if err != nil {
		r.logf("reading the git index of %s: %v; file modes there come from the disk or #! only", top, err)
		return nil
	}
	modes, err := parseLsFiles(out)
	if err != nil {
		r.logf("reading the git index of %s: %v; file modes there come from the disk or #! only", top, err)
		return nil
	}
	rp := &repo{modes: modes, fileMode: true}
	val, err := r.runGit(git, top, "config", "--type=bool", "--get", "core.fileMode")
	var ee *exec.ExitError
	switch {
	case err == nil:
		rp.fileMode = parseGitBool(string(bytes.TrimSpace(val)))
	case errors.As(err, &ee) && ee.ExitCode() == 1: // not set: git's default, true
	default:
		r.logf("reading core.fileMode of %s: %v; assuming true", top, err)
	}
	return rp
}

func (r *Resolver) runGit(git, top string, args ...string) ([]byte, error) {
	cmd := exec.Command(git, append([]string{"-C", top}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return nil, fmt.Errorf("git %s: %w: %s", args[0], err, msg)
		}
		return nil, fmt.Errorf("git %s: %w", args[0], err)
	}
	return out, nil
}

// parseLsFiles reads `git ls-files --stage -z` output: records
// "<mode> <object> <stage>\t<path>" ended by NUL. Regular files map to
// 0755 or 0644, symbolic links to fs.ModeSymlink; gitlinks (submodules)
// are left out.
func parseLsFiles(out []byte) (map[string]fs.FileMode, error) {
	modes := map[string]fs.FileMode{}
	for _, rec := range bytes.Split(out, []byte{0}) {
		if len(rec) == 0 {
			continue
		}
		meta, path, ok := bytes.Cut(rec, []byte{'\t'})
		if !ok {
			return nil, fmt.Errorf("unexpected ls-files record %q", rec)
		}
		mode, _, _ := bytes.Cut(meta, []byte{' '})
		switch string(mode) {
		case "100755":
			modes[string(path)] = 0o755
		case "100644":
			modes[string(path)] = 0o644
		case "120000":
			modes[string(path)] = fs.ModeSymlink
		}
	}
	return modes, nil
}

// parseGitBool reads a git config boolean as git does: false, no, off, 0
// and the empty string are false, anything else true.
func parseGitBool(s string) bool {
	switch strings.ToLower(s) {
	case "false", "no", "off", "0", "":
		return false
	}
	return true
}
