package remote

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/mongoose-os/mos/common/faultpoint"
	"github.com/mongoose-os/mos/common/filetree"
)

// An install that changes build/ first writes a journal there: the stage
// and backup dirs and what it moves. A client killed before the end (its
// process, or the machine) leaves build/ part old, part new; the next run
// finds the journal and finishes the install from the stage before it
// reads anything of build/, so build/ is only ever seen whole: the old
// result, or the new one. The journal is written after the stage is
// complete, so finishing never needs the server.

// journalFile, in the build dir, is an install in progress. Its name has
// the stage prefix, so listings of build/ skip it.
const journalFile = resultStagePrefix + "journal.json"

type journal struct {
	Stage  string   `json:"stage"`  // stage dir's name in build/
	Backup string   `json:"backup"` // backup dir's name in build/
	Aside  []string `json:"aside"`  // paths moved from build/ to backup
	Files  []string `json:"files"`  // paths moved from stage to build/
	Dirs   []string `json:"dirs"`   // empty dirs of the result
	Keep   bool     `json:"keep"`
}

func (in *installer) journalPath() string { return filepath.Join(in.buildDir, journalFile) }

// writeJournal writes j atomically and durably (the renames after it may
// reach the disk before it otherwise).
func (in *installer) writeJournal(j *journal) error {
	b, err := json.Marshal(j)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(in.buildDir, resultStagePrefix+"journal-*.tmp")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = in.doRename(f.Name(), in.journalPath())
	}
	if err != nil {
		os.Remove(f.Name())
		return err
	}
	syncDir(in.buildDir)
	faultpoint.Hit("install.journal")
	return nil
}

func (in *installer) removeJournal() { _ = os.Remove(in.journalPath()) }

// recover finishes an install that a killed client left, if any, and
// removes the stage dirs of aborted ones.
func (in *installer) recover() error {
	b, err := os.ReadFile(in.journalPath())
	if errors.Is(err, fs.ErrNotExist) {
		// Killed before build/ changed, if at all: only stage dirs are
		// left, and they go.
		in.cleanLeftovers()
		return nil
	}
	fail := func(err error) error {
		return fmt.Errorf("finishing the install of the last result in %s (a mos killed while installing it): %w; remove %s to start again", in.buildDir, err, in.buildDir)
	}
	if err != nil {
		return fail(err)
	}
	var j journal
	if err := json.Unmarshal(b, &j); err != nil {
		return fail(fmt.Errorf("%s: %w", journalFile, err))
	}
	for _, d := range []string{j.Stage, j.Backup} {
		if !strings.HasPrefix(d, resultStagePrefix) || strings.ContainsAny(d, `/\`) {
			return fail(fmt.Errorf("%s: bad dir %q", journalFile, d))
		}
	}
	for _, list := range [][]string{j.Aside, j.Files, j.Dirs} {
		for _, p := range list {
			if err := filetree.CheckPath(p); err != nil {
				return fail(fmt.Errorf("%s: %w", journalFile, err))
			}
		}
	}
	stage := filepath.Join(in.buildDir, j.Stage)
	backup := filepath.Join(in.buildDir, j.Backup)
	exists := func(p string) bool { _, err := os.Lstat(p); return err == nil }
	// Everything moved aside before anything was placed: an aside path
	// still in build/ with no backup copy was not moved yet.
	for _, p := range j.Aside {
		from, to := in.path(p), filepath.Join(backup, filepath.FromSlash(p))
		if !exists(from) || exists(to) {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return fail(err)
		}
		if err := in.doRename(from, to); err != nil {
			return fail(err)
		}
	}
	for _, p := range j.Files {
		from := filepath.Join(stage, filepath.FromSlash(p))
		if !exists(from) {
			continue // placed already
		}
		if err := os.MkdirAll(filepath.Dir(in.path(p)), 0o755); err != nil {
			return fail(err)
		}
		if err := in.doRename(from, in.path(p)); err != nil {
			return fail(err)
		}
	}
	for _, d := range j.Dirs {
		if err := os.MkdirAll(in.path(d), 0o755); err != nil {
			return fail(err)
		}
	}
	keep := in.keep
	in.keep = j.Keep
	in.pruneAfter(j.Aside, j.Files, j.Dirs)
	in.keep = keep
	in.removeJournal()
	in.cleanLeftovers()
	return nil
}

// RecoverBuildDir finishes an install of a result into buildDir that a
// killed mos left unfinished, so that build/ holds one whole result before
// anything reads it.
func RecoverBuildDir(buildDir string) error {
	return (&installer{buildDir: buildDir}).recover()
}
