# Policy for test/e2e/device-certificate.test.ts: /device needs a client certificate that
# Gatehouse verified against the company CA and that names a device by SPIFFE ID; /public is
# open. Every allow echoes what input.device held into request headers, for the test to read.
package envoy.authz

import rego.v1

default allow := false

cert := input.device.certificate

allow := {"allowed": true, "headers": echo} if input.parsed_path[0] == "public"

allow := {"allowed": true, "headers": echo} if {
	input.parsed_path[0] == "device"
	cert.verified
	"Acme" in cert.issuer_fields.O
	startswith(cert.spiffe_id, "spiffe://acme.test/device/")
}

echo := {
	"x-device-source": cert.source,
	"x-device-subject": cert.subject,
	"x-device-spiffe": cert.spiffe_id,
	"x-device-fingerprint": cert.fingerprint_sha256,
	"x-device-verified": sprintf("%v", [cert.verified]),
} if cert != null

else := {"x-device-error": input.device.certificate_error.code} if input.device.certificate_error != null

else := {"x-device-none": "true"}
