// Package e2e holds end-to-end tests across the mos client and the fwbuild
// server: both real binaries, built once per test run, the shipped host SDK
// and examples/hello, the server on 127.0.0.1 with the native runner.
package e2e
