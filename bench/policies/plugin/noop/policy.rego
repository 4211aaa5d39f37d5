# Benchmark scenario "noop" (OPA-Envoy plugin): allow everything.
package envoy.authz

default allow := true
