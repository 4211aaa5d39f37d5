package envoy.authz

import rego.v1

default allow := false

allow if {
	[valid, _] := crypto.x509.parse_and_verify_certificates(input.chain)
	valid
}
