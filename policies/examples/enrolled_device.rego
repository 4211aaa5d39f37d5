# Example: an enrolled device for /admin — admins only, on a WebAuthn device this session
# proved recently.
#
# Entrypoint: envoy/examples/enrolled_device/allow
#
# Needs device.webauthn in Gatehouse's config (docs/devices.md). The allow asks for a device
# ("require_device": true): Gatehouse lets the request through only when this session proved
# possession of an approved enrolled device within device.webauthn.proof_interval_seconds.
# Otherwise a browser is sent to /.gatehouse/devices to prove it and comes back to the same
# URL; an API client or a bearer token gets 401 ERR_DEVICE_PROOF_REQUIRED. Leave that check to
# Gatehouse rather than testing input.device.enrolled here: a policy that denied without a
# proof would show a 403 page instead of the proof page.
package envoy.examples.enrolled_device

import rego.v1

default allow := false

# /admin: an admin, with a device.
allow := {"allowed": true, "require_device": true} if {
	input.identity.authenticated
	input.parsed_path[0] == "admin"
	"admins" in input.identity.groups
}

# Everything else: a signed-in person, from any browser.
allow if {
	input.identity.authenticated
	input.parsed_path[0] != "admin"
}
