//go:build !linux

package harness

import (
	"context"
	"errors"
	"io"
)

// Network namespaces and tc are Linux's: elsewhere the proxy shapes the
// bandwidth too (see netns.go).
var errNoNetns = errors.New("network namespaces and tc are Linux-only")

// InNetns is false off Linux.
func InNetns() bool { return false }

// CheckNetns says why the bench cannot shape with tbf here.
func CheckNetns() error { return errNoNetns }

// RunInNetns fails off Linux.
func RunInNetns(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	return 0, errNoNetns
}

// TBF is Linux-only.
type TBF struct{}

// NewTBF fails off Linux.
func NewTBF() (*TBF, error) { return nil, errNoNetns }

// Shape fails off Linux.
func (t *TBF) Shape(rate int64, port int) error { return errNoNetns }

// Reset fails off Linux.
func (t *TBF) Reset() error { return errNoNetns }

// Sent fails off Linux.
func (t *TBF) Sent() (int64, error) { return 0, errNoNetns }
