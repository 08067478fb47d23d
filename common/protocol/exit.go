package protocol

// ExitRefused is the exit code of `mos build --local` when the build's
// input is refused rather than failing to build: a path that leads outside
// --confine, a value that cannot reach make as literal text. The build
// server answers such a build 400 with mos's message, not 418.
const ExitRefused = 65 // EX_DATAERR of sysexits.h: the input data was incorrect

// SandboxContextRoot is where a sandboxed server build sees its context
// (besides its real path): the same path for every context on every
// server, so that what the build writes down of its paths (the core's
// generated headers, debug info, __FILE__) does not depend on the
// context, and a new context compiles from the cache. The server strips
// it from the progress lines it shows.
const SandboxContextRoot = "/mos/ctx"
