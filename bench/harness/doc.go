// Package harness drives the real binaries for the demo and the benchmark:
// it starts bin/fwbuild-manager on a free 127.0.0.1 port behind a byte
// counting proxy, runs bin/mos builds against it (or locally), and reports
// per build the wall time, the bytes sent and received over the network and
// the number of files compiled (the SDK's "CC <file>" lines in build.log).
package harness
