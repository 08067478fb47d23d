package buildctx

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mongoose-os/mos/common/faultpoint"
	"github.com/mongoose-os/mos/common/filetree"
)

// A context is trusted for an incremental build only when its state record
// (<name>.state) says that the last update and build of it finished, in
// this boot of the machine or in one that ended with a synced stop:
//
//   - Update writes {done: false} before it changes anything; Done, called
//     once the build has ended by itself (succeeded or failed), writes
//     {done: true}. A process killed in between (SIGKILL, OOM, a stop
//     timeout) leaves done false, and the next Update starts the context
//     afresh: a half-synced tree, or an object make wrote half-way with an
//     mtime newer than its source, is never built upon.
//   - A power loss can drop file data that was never written back, in any
//     order; what survives is a new boot id. So a record of another boot
//     is trusted only if the server stopped cleanly in that boot after
//     syncing every file system (Store.Synced writes the boot id to
//     SyncedStopFile). Everything else starts afresh, with no fsync on the
//     build's path.
//
// A context without a record (made by a server before records existed) is
// started afresh once.

// SyncedStopFile, under the volumes dir, names the boot that the server
// last stopped in after syncing the disks.
const SyncedStopFile = "synced-stop"

type stateRecord struct {
	Boot string    `json:"boot"`
	Done bool      `json:"done"`
	At   time.Time `json:"at"`
}

// StateFile is the context's state record beside its dir.
func (c *Context) StateFile() string { return c.meta(".state") }

func (c *Context) writeState(done bool) error {
	faultpoint.Hit("ctx.state")
	b, err := json.Marshal(stateRecord{Boot: c.store.boot, Done: done, At: time.Now().UTC()})
	if err != nil {
		return err
	}
	if err := filetree.WriteFileAtomic(c.StateFile(), append(b, '\n'), 0o644, false); err != nil {
		return fmt.Errorf("context %s: recording its state: %w", c.Name, err)
	}
	return nil
}

// Done records that the context's update and build finished (the build
// ended by itself, succeeded or failed): the next build may start from
// it. A context whose build was stopped, timed out or killed is left
// unfinished and starts afresh.
func (c *Context) Done() error { return c.writeState(true) }

// untrusted says why the state record does not let the context be built
// upon, or "".
func (c *Context) untrusted() string {
	b, err := os.ReadFile(c.StateFile())
	if errors.Is(err, fs.ErrNotExist) {
		return "no record that its last build finished"
	}
	var st stateRecord
	if err == nil {
		err = json.Unmarshal(b, &st)
	}
	switch {
	case err != nil:
		return fmt.Sprintf("its state record is unreadable (%v)", err)
	case !st.Done:
		return "its last update or build did not finish (the server was stopped or killed)"
	case st.Boot != c.store.boot && st.Boot != c.store.syncedBoot:
		return "the machine restarted since it was written, without a synced stop: its files may not have reached the disk"
	}
	return ""
}

// Synced records that every file the server wrote has reached the disk
// in this boot: call it at a clean stop, after nothing more is written.
// It syncs the file systems first.
func (s *Store) Synced() error {
	if s.boot == "" {
		return nil
	}
	syncDisks()
	p := filepath.Join(s.root, SyncedStopFile)
	if err := filetree.WriteFileAtomic(p, []byte(s.boot+"\n"), 0o644, false); err != nil {
		return fmt.Errorf("recording a synced stop: %w", err)
	}
	syncDisks()
	return nil
}

// loadSyncedStop reads the boot of the last synced stop. A record of this
// very boot is removed: from now on this server writes again, unsynced.
func (s *Store) loadSyncedStop() error {
	p := filepath.Join(s.root, SyncedStopFile)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", p, err)
	}
	boot := strings.TrimSpace(string(b))
	if boot == s.boot {
		if err := os.Remove(p); err != nil {
			return fmt.Errorf("removing %s: %w", p, err)
		}
		return nil
	}
	s.syncedBoot = boot
	return nil
}
