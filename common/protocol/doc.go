// Package protocol is the remote build wire protocol shared by the mos
// client and the fwbuild server: routes, form field names, status codes,
// the context-name rule, and BuildParams as yaml.v2 writes it.
package protocol
