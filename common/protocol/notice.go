package protocol

// HeaderNotice, on a build answer of our server (200 or 418), is one line
// the user should read about what the server did with the request beyond
// building (e.g. it adopted a context made before accounts were turned on
// and started it afresh). Our client prints it; a stock client ignores it.
const HeaderNotice = "X-Fwbuild-Notice"
