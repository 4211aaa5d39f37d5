# Benchmark scenario "rbac" (Gatehouse): role-based access on path and method. Gatehouse has
# already verified the caller's bearer JWT against the IdP's JWKS; the policy reads the
# verified identity from input.identity.
package envoy.authz

import rego.v1

# Which methods each role may use under which top-level path segment.
grants := {
	"reader": [{"method": "GET", "prefix": "api"}],
	"writer": [{"method": "GET", "prefix": "api"}, {"method": "POST", "prefix": "api"}],
	"admin": [{"method": "GET", "prefix": "admin"}, {"method": "DELETE", "prefix": "api"}],
}

default allow := false

allow if {
	input.identity.authenticated
	some role in input.identity.groups
	some grant in grants[role]
	grant.method == input.attributes.request.http.method
	input.parsed_path[0] == grant.prefix
}
