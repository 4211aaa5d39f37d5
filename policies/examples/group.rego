# Example: members of certain groups only — the simplest possible policy.
#
# Entrypoint: envoy/examples/group/allow
#
# The decision is a plain boolean. `false` behaves like {"allowed": false}: an anonymous
# caller is sent to sign-in (input.identity.groups is undefined for them, so allow is false),
# and a signed-in caller outside the groups gets Gatehouse's 403 page — without reasons,
# since a boolean cannot carry any. Use the object form when users should see why.
package envoy.examples.group

import rego.v1

allowed_groups := {"engineering", "sre"}

default allow := false

allow if {
	input.identity.authenticated == true
	some group in input.identity.groups
	group in allowed_groups
}
