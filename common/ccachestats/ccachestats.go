// Package ccachestats reads the counters ccache writes of one build (its
// stats log, CCACHE_STATSLOG): mos sums them up in the build's log and the
// build server adds them to its metrics, so both count the same hits.
package ccachestats

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// File is the stats log's name in a build dir (build/ccache-stats.log):
// ccache's counters of the last build with ccache.
const File = "ccache-stats.log"

// Stats are the counters of one build, from ccache's stats log.
type Stats struct {
	Hits, Misses int // cacheable compiles found in the cache, and compiled
	RemoteHits   int // of the hits, found in the remote storage
	RemoteErrors int // remote storage errors and timeouts
	Uncacheable  int // links, preprocessing and other calls ccache passed on
}

// Compiles is the number of cacheable compiles.
func (s Stats) Compiles() int { return s.Hits + s.Misses }

// HitRate is the share of cacheable compiles found in the cache (0..1).
func (s Stats) HitRate() float64 {
	if s.Compiles() == 0 {
		return 0
	}
	return float64(s.Hits) / float64(s.Compiles())
}

func (s Stats) String() string {
	line := fmt.Sprintf("ccache: %d of %d compiles from the cache (%.0f%%), %d from the remote storage, %d compiled",
		s.Hits, s.Compiles(), 100*s.HitRate(), s.RemoteHits, s.Misses)
	if s.RemoteErrors > 0 {
		line += fmt.Sprintf(", %d remote storage errors", s.RemoteErrors)
	}
	return line
}

// Read reads a stats log ccache wrote (one counter name per line, "# file"
// lines between compiles). A missing log is an error wrapping
// os.ErrNotExist: nothing went through ccache.
func Read(path string) (Stats, error) {
	f, err := os.Open(path)
	if err != nil {
		return Stats{}, err
	}
	defer f.Close()
	var s Stats
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		switch strings.TrimSpace(sc.Text()) {
		case "direct_cache_hit", "preprocessed_cache_hit":
			s.Hits++
		case "cache_miss":
			s.Misses++
		case "remote_storage_hit":
			s.RemoteHits++
		case "remote_storage_error", "remote_storage_timeout":
			s.RemoteErrors++
		case "called_for_link", "called_for_preprocessing", "no_input_file", "unsupported_compiler_option",
			"unsupported_source_language", "multiple_source_files", "output_to_stdout":
			s.Uncacheable++
		}
	}
	if err := sc.Err(); err != nil {
		return Stats{}, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}
