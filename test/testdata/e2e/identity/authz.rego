# Policy for the browser sign-in journey (test/e2e/sign-in-browser.test.ts).
package envoy.authz

import rego.v1

default allow := {"allowed": false, "reasons": ["authentication required"]}

# Any signed-in user may use /app.
allow := {"allowed": true, "headers": {"x-policy": "app"}} if {
	input.identity.authenticated
	input.parsed_path[0] == "app"
}

# /vault is for nobody: a signed-in user is denied with reasons (Gatehouse's 403 page).
allow := {"allowed": false, "reasons": [sprintf("%s may not open the vault", [input.identity.email])]} if {
	input.identity.authenticated
	input.parsed_path[0] == "vault"
}
