# Benchmark scenario "rbac" (OPA-Envoy plugin): role-based access on path and method, the way
# the plugin's documentation does it: the bearer JWT is verified in Rego with
# io.jwt.decode_verify against the IdP's JWKS (data.bench, loaded from data.json).
package envoy.authz

import rego.v1

# Which methods each role may use under which top-level path segment.
grants := {
	"reader": [{"method": "GET", "prefix": "api"}],
	"writer": [{"method": "GET", "prefix": "api"}, {"method": "POST", "prefix": "api"}],
	"admin": [{"method": "GET", "prefix": "admin"}, {"method": "DELETE", "prefix": "api"}],
}

default allow := false

bearer := t if {
	v := input.attributes.request.http.headers.authorization
	startswith(v, "Bearer ")
	t := substring(v, count("Bearer "), -1)
}

claims := payload if {
	[valid, _, payload] := io.jwt.decode_verify(bearer, {"cert": data.bench.jwks, "iss": data.bench.issuer, "aud": data.bench.audience})
	valid
}

allow if {
	some role in claims.groups
	some grant in grants[role]
	grant.method == input.attributes.request.http.method
	input.parsed_path[0] == grant.prefix
}
