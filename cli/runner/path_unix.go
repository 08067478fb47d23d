//go:build !windows

package runner

// dockerPath: on Unix hosts a host path is used in the container as is.
func dockerPath(p string) string { return p }
