package envoy.authz

import rego.v1

default allow := {"allowed": false, "http_status": 403, "body": "denied", "reasons": ["default deny"]}

allow := {
	"allowed": true,
	"headers": {"x-policy-user": input.identity.sub},
	"reasons": [sprintf("user %s may %s", [input.identity.sub, input.attributes.request.http.method])],
} if {
	input.identity.authenticated
	input.attributes.request.http.method == "GET"
}
