// Package archtest holds no code, only a test: TestImports checks that the
// packages of the module import each other in the directions ARCHITECTURE.md
// describes (the table of issue 13, "Imports point one way"). It runs
// `go list` over the module and reads each package's non-test imports.
package archtest
