# Example: fresh authentication where it matters — MFA for /admin, a sign-in within the last
# 5 minutes for /payments.
#
# Entrypoint: envoy/examples/step_up/allow
#
# The decision allows and asks for more: acr_values (any one of them) and max_auth_age_seconds.
# When the caller's authentication does not meet them Gatehouse does not allow: a browser is
# sent back to the identity provider (with acr_values / max_age) and returns to the same URL;
# an API client or a bearer token gets 401 with an RFC 9470 challenge. A caller whose IdP sent
# no acr or auth_time never meets them. The acr values are your IdP's own names.
package envoy.examples.step_up

import rego.v1

mfa := ["urn:gatehouse:mfa"]

default allow := false

allow := {"allowed": true, "acr_values": mfa} if {
	input.identity.authenticated
	input.parsed_path[0] == "admin"
	"admins" in input.identity.groups
}

allow := {"allowed": true, "max_auth_age_seconds": 300} if {
	input.identity.authenticated
	input.parsed_path[0] == "payments"
}

allow if {
	input.identity.authenticated
	not input.parsed_path[0] in {"admin", "payments"}
}
