# Policy for the step-up journey (test/e2e/step-up-browser.test.ts).
package envoy.authz

import rego.v1

default allow := {"allowed": false, "reasons": ["authentication required"]}

# Any signed-in user may use /app.
allow := {"allowed": true} if {
	input.identity.authenticated
	input.parsed_path[0] == "app"
}

# /admin: admins who authenticated within the last 5 minutes.
allow := {"allowed": true, "max_auth_age_seconds": 300} if {
	input.identity.authenticated
	input.parsed_path[0] == "admin"
	"admins" in input.identity.groups
}

# /payments: multi-factor authentication.
allow := {"allowed": true, "acr_values": ["urn:gatehouse:mfa"]} if {
	input.identity.authenticated
	input.parsed_path[0] == "payments"
}
