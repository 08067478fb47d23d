// Package cmdutil holds what every mos command shares: the Factory of
// dependencies, IO streams, the global flags, error kinds that decide how an
// error reaches the user, and the MOS_<FLAG> environment fallback. It holds
// no build logic.
package cmdutil
