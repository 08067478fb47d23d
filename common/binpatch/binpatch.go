package binpatch

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/klauspost/compress/zstd"
)

// Level is the encoder level. Of klauspost's levels, only "better" and
// "best" index a dictionary of megabytes well enough to find the old
// file's content in it: "fastest" and "default" encode an 11 MB ELF
// against its previous version hardly smaller than without it. "better"
// costs about a quarter of what "best" does (0.14 s against 0.55 s for the
// 11 MB ELF of the real core on this machine) for a patch that is already
// a few percent of the file, so the encoding pays for itself even on
// loopback, where it replaces a deflate of the same file.
const Level = zstd.SpeedBetterCompression

// MaxWindow bounds the window a patch may need when decoded: base and
// file together (a result file is far below it).
const MaxWindow = 1 << 29

// ErrTooLarge: the decoded content is larger than the size stated.
var ErrTooLarge = errors.New("patch decodes to more than the stated size")

// window is the smallest power of two window that reaches from the end
// of a file of size n back to the start of a base of size m.
func window(m, n int) int {
	w := 1 << 20
	for w < m+n && w < MaxWindow {
		w <<= 1
	}
	return w
}

// Encode returns cur as a patch against base.
func Encode(base, cur []byte) ([]byte, error) {
	enc, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(Level),
		zstd.WithEncoderDictRaw(0, base),
		zstd.WithWindowSize(window(len(base), len(cur))),
		zstd.WithEncoderConcurrency(1),
		zstd.WithEncoderCRC(true))
	if err != nil {
		return nil, fmt.Errorf("patch encoder: %w", err)
	}
	defer enc.Close()
	return enc.EncodeAll(cur, make([]byte, 0, len(cur)/8)), nil
}

// Decode rebuilds a content of size bytes from a patch against base.
func Decode(base, patch []byte, size int64) ([]byte, error) {
	if size < 0 || size > MaxWindow {
		return nil, fmt.Errorf("patch: stated size %d is out of range", size)
	}
	dec, err := zstd.NewReader(nil,
		zstd.WithDecoderDictRaw(0, base),
		zstd.WithDecoderMaxWindow(MaxWindow),
		zstd.WithDecoderMaxMemory(uint64(size)+1),
		zstd.WithDecoderConcurrency(1))
	if err != nil {
		return nil, fmt.Errorf("patch decoder: %w", err)
	}
	defer dec.Close()
	out, err := dec.DecodeAll(patch, make([]byte, 0, size))
	if err != nil {
		return nil, fmt.Errorf("patch: %w", err)
	}
	if int64(len(out)) != size {
		if int64(len(out)) > size {
			return nil, ErrTooLarge
		}
		return nil, fmt.Errorf("patch decodes to %d bytes, %d stated", len(out), size)
	}
	return out, nil
}

// Apply is Decode checked against the content's stated SHA-256 (hex).
func Apply(base, patch []byte, size int64, sum string) ([]byte, error) {
	out, err := Decode(base, patch, size)
	if err != nil {
		return nil, err
	}
	if got := Sum(out); got != sum {
		return nil, fmt.Errorf("patched content has SHA-256 %s, %s stated", got, sum)
	}
	return out, nil
}

// Sum is the hex SHA-256 of data.
func Sum(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}
