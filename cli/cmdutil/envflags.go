package cmdutil

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"
)

// EnvName is the environment variable that supplies flag name when it is not
// on the command line, as upstream: MOS_ + upper case, '-' as '_'.
func EnvName(flag string) string {
	return "MOS_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// ApplyEnv sets every flag of fs that was not given on the command line from
// its MOS_<FLAG> variable, when that is set.
func ApplyEnv(fs *pflag.FlagSet, getenv func(string) string) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || f.Name == "help" {
			return
		}
		name := EnvName(f.Name)
		v := getenv(name)
		if v == "" {
			return
		}
		if e := fs.Set(f.Name, v); e != nil {
			err = fmt.Errorf("environment variable %s: %w", name, e)
		}
	})
	return err
}
