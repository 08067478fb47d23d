// Command mos is the Mongoose OS command line tool, with fast remote builds.
package main

import (
	"os"

	"github.com/mongoose-os/mos/cli/cmd/root"
)

func main() {
	os.Exit(root.Main())
}
