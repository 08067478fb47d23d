// Package manifest is the manifest engine: it reads an app's mos.yml, its
// platform submanifest, the built-in root manifest and every lib's
// manifest, resolves libs, conds and ${...} expressions with upstream mos's
// semantics, and produces the final manifest that a platform build consumes.
//
// Where lib and module files come from is not its business: a Provider
// supplies their dirs (package libs in real builds).
package manifest
