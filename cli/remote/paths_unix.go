//go:build !windows

package remote

import "os"

// hostSyntax is this OS's path syntax.
var hostSyntax = pathSyntax{windows: false}

// syncDir makes a rename in dir durable.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
