# Example: the device as well as the person — a certificate from the company device CA for
# everything, and for /admin a managed device named by its SPIFFE ID.
#
# Entrypoint: envoy/examples/device_certificate/allow
#
# Needs the `device` section in Gatehouse's config with device.certificate.ca_file set to the
# company's device CA (docs/devices.md): Gatehouse then verifies each client certificate itself,
# and input.device.certificate is set only for one it verified (verified: true). A certificate
# from another CA, expired or not yet valid never reaches the policy: certificate is null and
# certificate_error says why. Without ca_file, verified is false (Envoy's word alone): this
# policy then denies, as it should.
package envoy.examples.device_certificate

import rego.v1

# The organisation (O) of the company device CA, as it appears in a device certificate's issuer.
company_ca_organization := "Acme Corp"

# Managed devices carry a SPIFFE ID under this prefix (the trailing "/" matters:
# "spiffe://acme.example/device-evil/x" is not under it).
managed_device_prefix := "spiffe://acme.example/device/"

default allow := false

cert := input.device.certificate

company_device if {
	cert.verified == true
	company_ca_organization in cert.issuer_fields.O
}

managed_device if {
	company_device
	is_string(cert.spiffe_id)
	startswith(cert.spiffe_id, managed_device_prefix)
}

# Everything but /admin: a signed-in person on a company device.
allow if {
	input.identity.authenticated
	company_device
	input.parsed_path[0] != "admin"
}

# /admin: an admin on a managed device.
allow if {
	input.identity.authenticated
	"admins" in input.identity.groups
	managed_device
	input.parsed_path[0] == "admin"
}
