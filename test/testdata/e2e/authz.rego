# Policy for the end-to-end tests (test/e2e/envoy-check.test.ts, test/e2e/shutdown.test.ts).
# Each rule matches a disjoint set of requests, so no two can produce conflicting values.
package envoy.authz

import rego.v1

default allow := false

http_request := input.attributes.request.http

# Set by Envoy per route (front-proxy.yaml: check_settings.context_extensions.route).
route := input.attributes.contextExtensions.route

# GET /hello: allowed; the upstream gets x-policy-added and loses x-secret-internal; the client
# gets x-policy-response on the way back.
allow := {
	"allowed": true,
	"headers": {"x-policy-added": "yes"},
	"request_headers_to_remove": ["x-secret-internal"],
	"response_headers_to_add": {"x-policy-response": "hello-ok"},
} if {
	http_request.method == "GET"
	input.parsed_path == ["hello"]
}

# /teapot: denied with the policy's own status, body and header.
allow := {
	"allowed": false,
	"http_status": 429,
	"body": "slow down",
	"headers": {"retry-after": "7"},
	"reasons": ["rate limited"],
} if input.parsed_path == ["teapot"]

# /admin* is allowed only on the route Envoy labelled "admin". The prefix test is deliberately
# loose (it also matches /administrator, which Envoy routes to "app"), so the route label alone
# decides.
allow := {"allowed": true, "headers": {"x-route": route}} if {
	startswith(input.parsed_path[0], "admin")
	route == "admin"
}

# POST /submit with a JSON body: allowed when the body says {"ok": true}.
allow := {"allowed": true, "headers": {"x-body-checked": "yes"}} if {
	http_request.method == "POST"
	input.parsed_path == ["submit"]
	input.parsed_body.ok == true
}
