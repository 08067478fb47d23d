package builder

import (
	"flag"
	"os"
	"testing"
)

// TestMain sends glog to stderr (shown only for failing tests) instead of
// log files in the system temp dir.
func TestMain(m *testing.M) {
	flag.Parse()
	if err := flag.Set("logtostderr", "true"); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}
