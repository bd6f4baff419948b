//go:build soak

package clustertest_test

// soak is set by the build tag soak (make soak): the load tests run at
// full size.
const soak = true
