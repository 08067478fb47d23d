package remote

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/mongoose-os/mos/cli/libs"
	"github.com/mongoose-os/mos/cli/location"
	"github.com/mongoose-os/mos/cli/manifest"
	"github.com/mongoose-os/mos/common/protocol"
	"github.com/mongoose-os/mos/common/version"
)

// LocalLib is a git lib that this machine already has in a dir (a
// --libs-dir entry, or a clone in a deps dir outside the app): the upload
// carries it where the server's lib lookup finds a clone of its location.
type LocalLib struct {
	Name     string
	Type     string // the reference's type, "" for git
	Location string // its git location
	Dir      string // absolute dir on this machine
}

// localDeps is what the manifest engine found on this machine.
type localDeps struct {
	libs []LocalLib
	// moduleDirs maps a module name to the dir below deps/modules that the
	// server's lookup uses for the module's git location (its repo name).
	moduleDirs map[string]string
}

// findLocalDeps resolves the app's libs as a local build would, changing
// nothing on disk and fetching nothing: every git lib that resolves to a
// dir here is returned; a lib that would have to be fetched is left to the
// server, and so are its own libs. It runs only when there is something to
// find: --libs-dir, a deps dir outside the app, or a local --module.
func findLocalDeps(ctx context.Context, req *Request) (*localDeps, error) {
	localModule := false
	for _, loc := range req.Params.CustomModuleLocations {
		localModule = localModule || !location.IsGit("", loc)
	}
	if len(req.LibsDirs) == 0 && req.DepsDir == "" && !localModule {
		return &localDeps{}, nil
	}
	popts := libs.Options{
		AppDir:     req.AppDir,
		DepsDir:    req.DepsDir,
		ModulesDir: req.ModulesDir,
		LibsDirs:   req.LibsDirs,
		Log:        io.Discard,
	}
	popts.ApplyParams(req.Params)
	popts.LocalOnly = true // what is not here is the server's job
	provider, err := libs.New(popts)
	if err != nil {
		return nil, err
	}
	mreq := &manifest.Request{
		AppDir:     req.AppDir,
		Cwd:        req.AppDir,
		MosVersion: version.Presented(),
		Provider:   provider,
		SkipLib:    func(err error) bool { return errors.Is(err, libs.ErrFetchNotAllowed) },
	}
	mreq.ApplyParams(req.Params)
	found, err := manifest.ResolveLibs(ctx, mreq)
	if err != nil {
		return nil, fmt.Errorf("finding the libs to upload: %w", err)
	}
	out := &localDeps{moduleDirs: map[string]string{}}
	for _, lh := range found.Libs {
		loc := lh.Lib.Location
		if loc == "" {
			loc = lh.Lib.Origin
		}
		if !location.IsGit(lh.Lib.Type, loc) {
			continue // local locations are planned from the app's own manifest
		}
		out.libs = append(out.libs, LocalLib{Name: lh.Lib.Name, Type: lh.Lib.Type, Location: loc, Dir: lh.Path})
	}
	for _, m := range found.Modules {
		loc := m.Location
		if loc == "" {
			loc = m.Origin
		}
		if p, err := location.Parse(m.Type, loc); err == nil && location.IsGit(m.Type, loc) {
			if _, seen := out.moduleDirs[m.Name]; !seen {
				out.moduleDirs[m.Name] = repoDirName(p)
			}
		}
	}
	return out, nil
}

// repoDirName is where a clone of l sits below a deps dir.
func repoDirName(l *location.Location) string {
	if l.SubDir != "" {
		return l.RepoName + "/" + l.SubDir
	}
	return l.RepoName
}

// addLocalLibs plans the local copies of git libs: each goes to
// deps/<repo name>[/<subdir>], the dir the server's lookup uses for that
// location (a non-git dir there is used as it is). Libs already inside the
// app dir are uploaded with it; --lib dirs were planned already.
func (pl *plan) addLocalLibs(in planInput, app absPath) error {
	for _, l := range in.localLibs.libs {
		if _, isCustom := in.libs[l.Name]; isCustom {
			continue
		}
		if _, inside := in.ps.relInside(app, in.ps.resolve(in.appDir, l.Dir)); inside {
			continue
		}
		parsed, err := location.Parse(l.Type, l.Location)
		if err != nil {
			return fmt.Errorf("lib %q (%s): %w", l.Name, l.Location, err)
		}
		if err := protocol.CheckPathComponent("lib repo name", parsed.RepoName); err != nil {
			return fmt.Errorf("lib %q (%s): %w", l.Name, l.Location, err)
		}
		prefix := depsDir + "/" + repoDirName(parsed)
		if pl.exclude[prefix] || pl.hasTree(prefix) {
			continue
		}
		pl.trees = append(pl.trees, treeSource{dir: l.Dir, prefix: prefix, what: "lib " + l.Name + " from " + l.Dir})
		pl.exclude[prefix] = true
	}
	return nil
}
