package archive

import (
	"fmt"

	"github.com/mongoose-os/mos/common/relpath"
)

// CheckName reports whether name can be an entry name: slash-separated,
// relative, no backslash, no drive letter, no empty, "." or ".." component,
// and representable as a file name on this system (on Windows: no ':', no
// reserved names such as NUL or COM1). The error wraps ErrUnsafeName and
// says why. Names are never rewritten to make them acceptable.
func CheckName(name string) error {
	if err := relpath.Check(name); err != nil {
		return fmt.Errorf("%w: %v", ErrUnsafeName, err)
	}
	return nil
}
