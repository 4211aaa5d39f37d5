# Example: decide on the request body — a payment limit that depends on the caller's groups.
#
# Entrypoint: envoy/examples/request_body/allow
#
# Envoy must send the body: set with_request_body on the ext_authz filter
# (max_request_bytes: 8192, allow_partial_message: true). Gatehouse parses a JSON body into
# input.parsed_body. A body cut short by Envoy is never parsed (parsed_body is null and
# truncated_body is true) — deny it rather than decide on half a request.
#
# The two malformed-request denies set their own http_status and body, so Gatehouse sends
# them as written (413, 400) instead of its 403 page.
package envoy.examples.request_body

import rego.v1

# The largest amount each group may pay in one request; the highest of the caller's wins.
limits := {
	"finance-approvers": 100000,
	"finance": 10000,
	"staff": 1000,
}

payment if {
	upper(input.attributes.request.http.method) == "POST"
	input.parsed_path == ["api", "payments"]
}

amount := input.parsed_body.amount if {
	is_number(input.parsed_body.amount)
	input.parsed_body.amount > 0
}

limit := max({limits[group] | some group in input.identity.groups})

default allow := {"allowed": false, "reasons": ["authentication required"]}

allow := {
	"allowed": false,
	"reasons": ["authentication required"],
} if {
	input.identity.authenticated != true
} else := {
	# This example only governs payments; any other request of a signed-in caller passes.
	"allowed": true,
	"reasons": ["not a payment"],
} if {
	not payment
} else := {
	"allowed": false,
	"http_status": 413,
	"body": "The payment request is too large to inspect.",
	"reasons": ["the body was truncated by Envoy"],
} if {
	input.truncated_body == true
} else := {
	"allowed": false,
	"http_status": 400,
	"body": "Expected a JSON body with a positive number \"amount\".",
	"reasons": ["no positive amount in the JSON body"],
} if {
	not amount
} else := {
	"allowed": true,
	"headers": {"x-payment-limit": sprintf("%d", [limit])},
	"reasons": [sprintf("amount %v is within your limit of %d", [amount, limit])],
} if {
	amount <= limit
} else := {
	"allowed": false,
	"reasons": [sprintf("amount %v exceeds your limit of %d", [amount, limit])],
} if {
	limit
} else := {
	"allowed": false,
	"reasons": ["none of your groups may make payments"],
}
