//go:build !linux && !windows

package execbits

// fsKeepsModes is true on Unix systems other than Linux (macOS, BSDs): their
// usual file systems keep modes, and no portable statfs magic tells the
// exceptions (FAT or NTFS volumes) apart. The index rule still applies
// first, and core.fileMode=false turns the disk rule off per repo.
func fsKeepsModes(dir string) bool { return true }
