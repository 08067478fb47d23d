package protocol

// ExitRefused is the exit code of `mos build --local` when the build's
// input is refused rather than failing to build: a path that leads outside
// --confine, a value that cannot reach make as literal text. The build
// server answers such a build 400 with mos's message, not 418.
const ExitRefused = 65 // EX_DATAERR of sysexits.h: the input data was incorrect
