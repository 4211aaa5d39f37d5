# Example: user verification — a payment needs the person, not only their device: a proof of
# possession in which the authenticator verified the user (PIN, fingerprint, face).
#
# Entrypoint: envoy/examples/user_verification/allow
#
# Needs device.webauthn in Gatehouse's config (docs/devices.md). "require_user_verification":
# true asks for a device as "require_device" does, and for a proof that verified the user: a
# recent proof made without it (a security key touched, no PIN) sends the browser to prove
# again. It matters with device.webauthn.require_user_verification: false, where enrollment and
# proofs only ask for verification; with true (the default) every proof verifies the user.
package envoy.examples.user_verification

import rego.v1

default allow := false

# /payments: any signed-in person, with a device that verified them.
allow := {"allowed": true, "require_user_verification": true} if {
	input.identity.authenticated
	input.parsed_path[0] == "payments"
}

# Everything else: a signed-in person.
allow if {
	input.identity.authenticated
	input.parsed_path[0] != "payments"
}
