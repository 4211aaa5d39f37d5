package envoy.examples.device_certificate_test

import rego.v1

import data.envoy.examples.device_certificate

person(groups) := {"authenticated": true, "method": "session", "sub": "u1", "groups": groups}

device(issuer_org, spiffe_id) := {
	"certificate": {
		"source": "peer",
		"verified": true,
		"issuer_fields": {"O": [issuer_org], "CN": ["device CA"]},
		"spiffe_id": spiffe_id,
	},
	"certificate_error": null,
}

request(path, identity, dev) := {"parsed_path": path, "identity": identity, "device": dev}

laptop := device("Acme Corp", "spiffe://acme.example/device/laptop-1")

test_company_device_reaches_the_app if {
	device_certificate.allow with input as request(["app"], person([]), laptop)
}

test_no_certificate_is_denied if {
	not device_certificate.allow with input as request(["app"], person([]), {"certificate": null, "certificate_error": null})
}

test_refused_certificate_is_denied if {
	refused := {"certificate": null, "certificate_error": {"code": "ERR_DEVICE_CERT_UNTRUSTED", "source": "peer"}}
	not device_certificate.allow with input as request(["app"], person([]), refused)
}

test_unverified_certificate_is_denied if {
	unverified := object.union(laptop, {"certificate": object.union(laptop.certificate, {"verified": false})})
	not device_certificate.allow with input as request(["app"], person([]), unverified)
}

test_another_ca_is_denied if {
	not device_certificate.allow with input as request(["app"], person([]), device("Evil", "spiffe://acme.example/device/x"))
}

test_device_alone_is_not_enough if {
	not device_certificate.allow with input as request(["app"], {"authenticated": false}, laptop)
}

test_admin_on_a_managed_device if {
	device_certificate.allow with input as request(["admin"], person(["admins"]), laptop)
}

test_admin_needs_a_spiffe_id_under_the_prefix if {
	not device_certificate.allow with input as request(["admin"], person(["admins"]), device("Acme Corp", null))
	not device_certificate.allow with input as request(["admin"], person(["admins"]), device("Acme Corp", "spiffe://acme.example/device-evil/x"))
	not device_certificate.allow with input as request(["admin"], person(["admins"]), device("Acme Corp", "spiffe://evil.example/device/x"))
}

test_admin_needs_the_group if {
	not device_certificate.allow with input as request(["admin"], person([]), laptop)
}
