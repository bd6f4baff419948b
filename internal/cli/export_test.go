package cli

// RegisterExamples is serve.go's registerExamples for the tests, which run
// Execute with the examples registered as cmd/weft does. (serve.go keeps the
// package's last import of the examples; see internal/archtest.)
var RegisterExamples = registerExamples
