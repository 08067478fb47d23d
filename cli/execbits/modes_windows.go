package execbits

// fsKeepsModes is always false on Windows: its file systems have no
// executable bit, so the index or "#!" decide.
func fsKeepsModes(dir string) bool { return false }
