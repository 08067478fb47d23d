package resultpatch

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/mongoose-os/mos/common/binpatch"
	"github.com/mongoose-os/mos/common/protocol"
)

// Defaults: on smaller files a patch saves little (the encoder's set-up
// costs about what it saves); a context keeps at most MaxKept bytes of bases (its ELF and
// a few more of the real core's size).
const (
	MinSize = 16 << 10
	MaxKept = 64 << 20
)

// maxParallel bounds the encodings of one result running at once.
const maxParallel = 4

// File is a file of the result.
type File struct {
	Path   string // relative to the build dir, slash-separated
	Disk   string // where to read it
	Size   int64
	Mode   fs.FileMode
	SHA256 string
}

// Patch is a result file to send as Data, a patch.
type Patch struct {
	protocol.DeltaPatch
	Data []byte
}

// Kept is a context's store of sent contents.
type Kept struct {
	dir string
	max int64
	// shared are other contexts' stores, read only: a new context's
	// client holds the result of another of its contexts.
	shared []string
}

// Open returns the store in dir (made when first written), bounded to
// max bytes (MaxKept when 0); bases are also read from the stores in
// shared.
func Open(dir string, max int64, shared ...string) *Kept {
	if max <= 0 {
		max = MaxKept
	}
	return &Kept{dir: dir, max: max, shared: shared}
}

func (k *Kept) path(sum string) string { return filepath.Join(k.dir, sum) }

// read returns a kept content, checked against its name: this store's,
// else a shared one's.
func (k *Kept) read(sum string) ([]byte, error) {
	data, err := os.ReadFile(k.path(sum))
	if err == nil {
		if binpatch.Sum(data) == sum {
			return data, nil
		}
		os.Remove(k.path(sum))
	}
	for _, d := range k.shared {
		// Another context's, unlocked: it may be going, or half made.
		if data, err := os.ReadFile(filepath.Join(d, sum)); err == nil && binpatch.Sum(data) == sum {
			return data, nil
		}
	}
	return nil, fmt.Errorf("no kept content %s", sum)
}

// Plan chooses the patches of a result: result is every file of the
// result, send the paths of those the zip must carry, have the client's
// build dir (path -> SHA-256). The patched files leave send to the
// caller: their zip entry is the patch. Files are read from disk once;
// a file that cannot be read or encoded is simply sent whole.
func (k *Kept) Plan(result []File, send map[string]bool, have map[string]string) []Patch {
	// Each file is encoded on its own (a zip's base is read from disk,
	// not from another patch), so they go in parallel: the ELF and the
	// firmware zip storing it cost one encoding's time, not two.
	todo := order(result, send)
	found := make([]*Patch, len(todo))
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxParallel) // each holds a few copies of its file
	for i, f := range todo {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			var p *Patch
			if b, ok := innerBase(f, result); ok {
				p = try(f, b.Path, b.SHA256, true, func() ([]byte, error) { return os.ReadFile(b.Disk) })
			}
			if p == nil {
				if sum := have[f.Path]; sum != "" {
					p = try(f, f.Path, sum, false, func() ([]byte, error) { return k.read(sum) })
				}
			}
			found[i] = p
		}()
	}
	wg.Wait()
	var patches []Patch
	for _, p := range found {
		if p != nil {
			patches = append(patches, *p)
		}
	}
	return patches
}

// order is the files to send that are worth a patch: other files first,
// then those that may be patched against them (zips).
func order(result []File, send map[string]bool) []File {
	var out []File
	for _, f := range result {
		if send[f.Path] && f.Size >= MinSize {
			out = append(out, f)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		zi, zj := isZip(out[i].Path), isZip(out[j].Path)
		if zi != zj {
			return zj
		}
		return out[i].Path < out[j].Path
	})
	return out
}

func isZip(p string) bool { return strings.HasSuffix(p, ".zip") }

// innerBase is the largest non-zip file of the result no larger than
// the zip f and at least half as large: the content the zip most likely
// stores.
func innerBase(f File, result []File) (File, bool) {
	if !isZip(f.Path) {
		return File{}, false
	}
	var best File
	for _, g := range result {
		if !isZip(g.Path) && g.Size*2 >= f.Size && g.Size <= f.Size && g.Size > best.Size {
			best = g
		}
	}
	return best, best.Path != ""
}

// try encodes f against a base; nil when it does not pay (over a
// quarter of the file: deflate does about as well on an ELF) or fails.
func try(f File, base, baseSum string, inResult bool, read func() ([]byte, error)) *Patch {
	b, err := read()
	if err != nil {
		return nil
	}
	cur, err := os.ReadFile(f.Disk)
	if err != nil || int64(len(cur)) != f.Size {
		return nil
	}
	data, err := binpatch.Encode(b, cur)
	if err != nil || int64(len(data)) > f.Size/4 {
		return nil
	}
	return &Patch{
		DeltaPatch: protocol.DeltaPatch{Path: f.Path, Mode: f.Mode.Perm(), Size: f.Size, SHA256: f.SHA256, Base: base, BaseSHA256: baseSum, InResult: inResult},
		Data:       data,
	}
}

// Keep makes the store hold the contents of the result the next patch
// may start from (the client holds them once it installed this result),
// and, space allowing, those the client held (should this answer not
// reach it); everything else goes. Zips stored with a larger file of
// the result are not kept: they are patched against it.
func (k *Kept) Keep(result []File, have map[string]string) error {
	want := map[string]bool{}
	var total int64
	var add []File
	for _, f := range result {
		if f.Size < MinSize || want[f.SHA256] {
			continue
		}
		if _, ok := innerBase(f, result); ok {
			continue
		}
		if total+f.Size > k.max {
			continue
		}
		want[f.SHA256] = true
		total += f.Size
		add = append(add, f)
	}
	if err := os.MkdirAll(k.dir, 0o755); err != nil {
		return fmt.Errorf("kept results: %w", err)
	}
	for _, f := range add {
		if _, err := os.Stat(k.path(f.SHA256)); err == nil {
			continue
		}
		if err := copyChecked(f.Disk, k.path(f.SHA256), f.SHA256); err != nil {
			return fmt.Errorf("kept results: %s: %w", f.Path, err)
		}
	}
	// What the client held, in what room is left.
	for _, f := range result {
		sum := have[f.Path]
		if sum == "" || want[sum] {
			continue
		}
		if fi, err := os.Stat(k.path(sum)); err == nil && total+fi.Size() <= k.max {
			want[sum] = true
			total += fi.Size()
		}
	}
	ents, err := os.ReadDir(k.dir)
	if err != nil {
		return fmt.Errorf("kept results: %w", err)
	}
	for _, e := range ents {
		if !want[e.Name()] {
			if err := os.Remove(filepath.Join(k.dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("kept results: %w", err)
			}
		}
	}
	return nil
}

// copyChecked copies src to dst (through a temp file) if its content
// still has the SHA-256 sum.
func copyChecked(src, dst, sum string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	h := sha256.Sum256(data)
	if hex.EncodeToString(h[:]) != sum {
		return fmt.Errorf("changed since it was listed")
	}
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}
