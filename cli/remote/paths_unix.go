//go:build !windows

package remote

// hostSyntax is this OS's path syntax.
var hostSyntax = pathSyntax{windows: false}
