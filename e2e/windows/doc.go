// Package windows runs the Windows client for real: mos.exe under wine
// against fwbuild-manager on 127.0.0.1, building a copy of examples/hello
// the ways a Windows user does (cold, unchanged, one file edited, build/
// deleted, --build-context, --keep-build-dir, -C with backslashes). `make
// test-windows` runs it (MOS_WINE_TEST=1); it needs wine (Debian's wine64)
// and mingw-w64, which builds the harness's stand-in bcryptprimitives.dll
// (see bcryptprimitives/), and skips, saying so, without them.
package windows
