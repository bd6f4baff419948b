//go:build !soak

package clustertest_test

// soak is set by the build tag soak (make soak): without it, the load
// tests run a short variant that keeps every check.
const soak = false
