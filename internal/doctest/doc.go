// Package doctest holds the test that keeps the documentation working:
// every Go block of README.md and docs/*.md is compiled, and every SQL
// statement in them (sql blocks, and the queries that Go blocks pass to
// ExecContext, QueryContext and QueryRowContext) is run on SQLite and on
// PostgreSQL.
//
// The conventions a documentation page follows:
//
//   - A ```go block is either a whole file (declarations only) or a
//     function body; a body is compiled inside a function returning error.
//
//   - The names a page's blocks take for granted (ctx, eng, st, the user's
//     own types) are declared in a hidden prelude, an HTML comment anywhere
//     on the page:
//
//     <!-- doctest prelude
//     var eng *weft.Engine
//     -->
//
//   - The blocks of a page are one package, with the page's prelude, so a
//     block may use what an earlier one declares; each body is a function
//     of its own. The packages of weft and the standard library a reader
//     expects are imported (see imports in the test). A variable a block
//     declares but does not use is no error.
//
//   - "…" elides code: "{ … }" is a body that panics, "{…}" an empty
//     literal, and a line that starts with "…" a statement that panics.
//
//   - A ```sql block runs on both stores; "```sql admin" marks server
//     administration (CREATE DATABASE, CREATE USER) that the test does not
//     run. The placeholders (?) of a query in Go get the argument "1".
package doctest
