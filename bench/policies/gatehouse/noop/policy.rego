# Benchmark scenario "noop" (Gatehouse): allow everything.
package envoy.authz

default allow := true
