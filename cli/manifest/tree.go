package manifest

import (
	"fmt"
	"sort"
)

// tree turns m into the variable tree expressions see under "manifest.":
// every key of mos.yml is present (empty strings as "", absent lists and
// maps as nil), lists are []any, maps map[string]any, numbers float64.
// This is the shape upstream gets by a JSON round trip of its struct, so
// %v of any value prints the same text.
func tree(m *Manifest) map[string]any {
	if m == nil {
		return nil
	}
	return map[string]any{
		"name":                  m.Name,
		"type":                  m.Type,
		"version":               m.Version,
		"summary":               m.Summary,
		"arch":                  m.Arch,
		"platform":              m.Platform,
		"platforms":             stringList(m.Platforms),
		"author":                m.Author,
		"description":           m.Description,
		"sources":               stringList(m.Sources),
		"includes":              stringList(m.Includes),
		"filesystem":            stringList(m.Filesystem),
		"fs_filters":            fsFiltersTree(m.FSFilters),
		"binary_libs":           stringList(m.BinaryLibs),
		"extra_files":           stringList(m.ExtraFiles),
		"ffi_symbols":           stringList(m.FFISymbols),
		"tests":                 stringList(m.Tests),
		"modules":               depsTree(m.Modules),
		"libs":                  depsTree(m.Libs),
		"init_after":            stringList(m.InitAfter),
		"init_before":           stringList(m.InitBefore),
		"no_implicit_init_deps": m.NoImplInitDeps,
		"config_schema":         schemaTree(m.ConfigSchema),
		"build_vars":            stringMap(m.BuildVars),
		"cflags":                stringList(m.CFlags),
		"cxxflags":              stringList(m.CXXFlags),
		"cdefs":                 stringMap(m.CDefs),
		"tags":                  stringList(m.Tags),
		"warning":               m.Warning,
		"error":                 m.Error,
		"libs_version":          m.LibsVersion,
		"modules_version":       m.ModulesVersion,
		"mongoose_os_version":   m.MongooseOSVersion,
		"conds":                 condsTree(m.Conds),
		"manifest_version":      m.ManifestVersion,
		"libs_handled":          libsHandledTree(m.LibsHandled),
		"init_deps":             stringList(m.InitDeps),
	}
}

func stringList(l []string) any {
	if l == nil {
		return nil
	}
	out := make([]any, len(l))
	for i, s := range l {
		out[i] = s
	}
	return out
}

func stringMap(m map[string]string) any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func fsFiltersTree(l []*FSFilter) any {
	if l == nil {
		return nil
	}
	out := make([]any, len(l))
	for i, f := range l {
		if f != nil {
			out[i] = map[string]any{"include": f.Include, "exclude": f.Exclude}
		}
	}
	return out
}

// depTree has only the keys that are set, like a lib entry in mos.yml.
func depTree(d Dep) map[string]any {
	out := map[string]any{}
	for _, kv := range [][2]string{
		{"type", d.Type}, {"name", d.Name}, {"location", d.Location}, {"origin", d.Origin},
		{"version", d.Version}, {"variant", d.Variant}, {"asset_api", d.AssetAPI},
	} {
		if kv[1] != "" {
			out[kv[0]] = kv[1]
		}
	}
	return out
}

func depsTree(l []Dep) any {
	if l == nil {
		return nil
	}
	out := make([]any, len(l))
	for i, d := range l {
		out[i] = depTree(d)
	}
	return out
}

func condsTree(l []Cond) any {
	if l == nil {
		return nil
	}
	out := make([]any, len(l))
	for i, c := range l {
		e := map[string]any{}
		if c.When != "" {
			e["when"] = c.When
		}
		if c.Apply != nil {
			e["apply"] = tree(c.Apply)
		}
		if c.Error != "" {
			e["error"] = c.Error
		}
		out[i] = e
	}
	return out
}

// libsHandledTree keeps upstream's view of a handled lib: its entry is
// under "name", and the three version fields are not visible (upstream
// gives them clashing JSON names, which drops them).
func libsHandledTree(l []LibHandled) any {
	if l == nil {
		return nil
	}
	out := make([]any, len(l))
	for i, lh := range l {
		out[i] = map[string]any{
			"name":        depTree(lh.Lib),
			"path":        lh.Path,
			"deps":        stringList(lh.Deps),
			"init_deps":   stringList(lh.InitDeps),
			"sources":     stringList(lh.Sources),
			"binary_libs": stringList(lh.BinaryLibs),
			"repo_dirty":  lh.RepoDirty,
		}
	}
	return out
}

func schemaTree(l []ConfigSchemaItem) any {
	if l == nil {
		return nil
	}
	out := make([]any, len(l))
	for i, item := range l {
		out[i] = plainValue([]any(item))
	}
	return out
}

// plainValue converts a value decoded by yaml.v2 to the JSON-like shape:
// string-keyed maps, []any lists, float64 numbers.
func plainValue(v any) any {
	switch t := v.(type) {
	case nil:
		return nil
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = plainValue(e)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[fmt.Sprint(k)] = plainValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = plainValue(e)
		}
		return out
	case int:
		return float64(t)
	case int64:
		return float64(t)
	case uint64:
		return float64(t)
	case float32:
		return float64(t)
	}
	return v
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
