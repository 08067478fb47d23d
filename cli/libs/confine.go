package libs

import "fmt"

// confineLocation refuses, under Options.Confine, a location that reads
// outside the build context before anything is fetched: a local dir
// outside, a file:// repo outside, a git transport that runs commands or
// reads local files (ext::, fd::). Locations from mos.yml are checked by
// the manifest engine with their file and key; this also covers the ones
// the provider puts in (--lib NAME:URL, --module, --repo).
func (p *Provider) confineLocation(what, name, typ, loc string) error {
	if p.opts.Confine == nil {
		return nil
	}
	return p.opts.Confine.CheckLocation(typ, loc, p.opts.AppDir, "", fmt.Sprintf("%s %s: location", what, name))
}
