# Policy for the identity tests (test/integration/identity/*.test.ts, test/e2e/central-sign-in.test.ts).
#
# - anonymous callers are denied WITHOUT a status, so Gatehouse starts sign-in (browser) or answers 401;
# - /public is open to everyone (anonymous allows still get spoofed identity headers stripped);
# - /limited is denied with the policy's own status (429: Envoy accepts only its StatusCode enum),
#   which Gatehouse must send as is, even to an anonymous caller;
# - any authenticated caller is allowed elsewhere, with a header naming how it authenticated.
package envoy.authz

import rego.v1

default allow := {"allowed": false}

special := {"public", "limited"}

allow := {"allowed": false, "http_status": 429} if input.parsed_path[0] == "limited"

allow := {"allowed": true, "headers": {"x-policy": "public"}} if input.parsed_path[0] == "public"

allow := {"allowed": true, "headers": {"x-policy": "authenticated", "x-auth-method": input.identity.method}} if {
	input.identity.authenticated
	not special[input.parsed_path[0]]
}
