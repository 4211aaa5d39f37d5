# Policy for test/e2e/device-journey-browser.test.ts: a signed-in user may use /app; /admin
# requires an enrolled device this session proved (the decision's require_device). Every allow
# echoes input.device.enrolled into a request header, for the test to read at the upstream.
package envoy.authz

import rego.v1

default allow := {"allowed": false, "reasons": ["authentication required"]}

enrolled := input.device.enrolled

default device_seen := "none"

device_seen := sprintf("%s %s %v", [enrolled.id, enrolled.approval, enrolled.proof_fresh]) if {
	is_string(enrolled.id)
}

allow := {"allowed": true, "headers": {"x-device": device_seen}} if {
	input.identity.authenticated
	input.parsed_path[0] == "app"
}

allow := {"allowed": true, "require_device": true, "headers": {"x-device": device_seen}} if {
	input.identity.authenticated
	input.parsed_path[0] == "admin"
}
