package manifest

import (
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v2"
)

// knownKeys are the top-level keys a manifest may hold: the yaml names of
// Manifest's fields.
var knownKeys = func() []string {
	var keys []string
	t := reflect.TypeOf(Manifest{})
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			keys = append(keys, name)
		}
	}
	sort.Strings(keys)
	return keys
}()

// unknownKeys returns a warning for each top-level key of the manifest
// data that no manifest field knows. Stock mos ignores such keys silently
// (yaml.v2 into a struct), so "lib:" for "libs:" failed far later with a
// missing header; they stay accepted, with a warning naming the closest
// known key.
func unknownKeys(origin string, data []byte) []string {
	var top yaml.MapSlice
	if err := yaml.Unmarshal(data, &top); err != nil {
		return nil // the struct decode reports it
	}
	known := map[string]bool{}
	for _, k := range knownKeys {
		known[k] = true
	}
	var out []string
	for _, item := range top {
		key := fmt.Sprint(item.Key)
		if known[key] {
			continue
		}
		msg := fmt.Sprintf("%s: unknown key %q", origin, key)
		if near := closestKey(key); near != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", near)
		}
		out = append(out, msg)
	}
	return out
}

// closestKey is the known key nearest to key (at most 2 edits, fewer than
// key has letters), "" when none is.
func closestKey(key string) string {
	best, bestD := "", 3
	for _, k := range knownKeys {
		if d := editDistance(strings.ToLower(key), k); d < bestD && d < len(key) {
			best, bestD = k, d
		}
	}
	return best
}

// editDistance counts the insertions, deletions, substitutions and swaps
// of neighbours turning a into b (optimal string alignment).
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// UnknownKeys returns the warnings about unknown top-level keys of the
// manifest file (see unknownKeys), for a caller that reads the app
// without resolving it (the remote build client).
func UnknownKeys(file string) ([]string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return unknownKeys(file, data), nil
}
