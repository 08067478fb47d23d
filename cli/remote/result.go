package remote

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/mongoose-os/mos/common/archive"
)

// maxResultBytes caps the result zip the client accepts (its unpacked size
// is capped by archive's defaults).
const maxResultBytes = 1 << 30

// maxErrorBody is how much of a non-zip answer is read for the message.
const maxErrorBody = 64 << 10

// spoolResult copies a result body into a new file under tempDir and
// returns its path and size.
func spoolResult(tempDir string, body io.Reader) (path string, n int64, err error) {
	if err := os.MkdirAll(tempDir, 0o700); err != nil {
		return "", 0, fmt.Errorf("creating temp dir: %w", err)
	}
	f, err := os.CreateTemp(tempDir, "tmp_mos_result_*.zip")
	if err != nil {
		return "", 0, fmt.Errorf("saving the build result: %w", err)
	}
	path = f.Name()
	n, err = io.Copy(f, io.LimitReader(body, maxResultBytes+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > maxResultBytes {
		err = fmt.Errorf("larger than %d bytes", int64(maxResultBytes))
	}
	if err != nil {
		os.Remove(path)
		return "", n, fmt.Errorf("receiving the build result: %w", err)
	}
	return path, n, nil
}

// installResult unpacks the result zip (entries build/...) into buildDir.
// It is first unpacked, safely, into a fresh dir inside buildDir, so a
// broken or hostile zip leaves buildDir as it was. Then, unless keep,
// everything else in buildDir is removed, and the result is moved in
// (over what is there, with keep).
func installResult(zipPath, buildDir string, keep bool) error {
	stage, err := unpackResult(zipPath, buildDir)
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)
	if !keep {
		ents, err := os.ReadDir(buildDir)
		if err != nil {
			return fmt.Errorf("emptying the build dir: %w", err)
		}
		for _, e := range ents {
			if e.Name() == filepath.Base(stage) {
				continue
			}
			if err := os.RemoveAll(filepath.Join(buildDir, e.Name())); err != nil {
				return fmt.Errorf("emptying the build dir: %w", err)
			}
		}
	}
	if err := moveInto(stage, buildDir); err != nil {
		return fmt.Errorf("installing the build result: %w", err)
	}
	return nil
}

// resultStagePrefix names the dir in the build dir where a result is
// unpacked before it is moved in.
const resultStagePrefix = ".mos-result-"

// unpackResult unpacks the result zip (entries build/...), safely, into a
// fresh dir inside buildDir and returns it; the caller removes it.
func unpackResult(zipPath, buildDir string) (stage string, err error) {
	if err := os.MkdirAll(buildDir, 0o755); err != nil {
		return "", fmt.Errorf("creating build dir: %w", err)
	}
	dir, err := os.MkdirTemp(buildDir, resultStagePrefix)
	if err != nil {
		return "", fmt.Errorf("unpacking the build result: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	f, err := os.Open(zipPath)
	if err != nil {
		return "", fmt.Errorf("unpacking the build result: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("unpacking the build result: %w", err)
	}
	if _, err := archive.ExtractReaderAt(f, fi.Size(), dir, archive.ExtractOptions{StripComponents: 1}); err != nil {
		return "", fmt.Errorf("unpacking the build result: %w", err)
	}
	return dir, nil
}

// moveInto moves the contents of src into dst, merging into dst's real
// dirs and replacing its files, links and other entries.
func moveInto(src, dst string) error {
	ents, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range ents {
		s, d := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		fi, err := os.Lstat(d)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return err
		case e.IsDir() && fi.IsDir():
			if err := moveInto(s, d); err != nil {
				return err
			}
			continue
		case e.IsDir() || fi.IsDir():
			if err := os.RemoveAll(d); err != nil {
				return err
			}
		}
		if err := os.Rename(s, d); err != nil {
			return err
		}
	}
	return nil
}

// errorBody reads the start of an error answer for the message.
func errorBody(r io.Reader) string {
	data, _ := io.ReadAll(io.LimitReader(r, maxErrorBody))
	return strings.TrimSpace(string(data))
}
