//go:build !linux

package buildctx

// bootID is unknown here: the reboot check is off (the server runs on
// Linux; other systems run it for development only).
func bootID() string { return "" }

func syncDisks() {}
