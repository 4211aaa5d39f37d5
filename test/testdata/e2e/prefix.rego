# Policy for test/e2e/security-envoy.test.ts: a plain prefix rule, the kind a path that is not in
# normal form used to fool (issue 12 point 5). Anyone may reach /public/...; nothing else.
package envoy.authz

import rego.v1

default allow := false

allow if input.parsed_path[0] == "public"
