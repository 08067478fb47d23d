// Package testenv has helpers for tests only: file trees written from
// literals and checked against them, local git repos served over file://,
// the path of the shared reference data, the shipped host SDK, and skips for
// tests that need Docker. Only _test.go files import it.
package testenv
