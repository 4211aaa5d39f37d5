package envoy.examples.enrolled_device_test

import rego.v1

import data.envoy.examples.enrolled_device

signed_in(path, groups) := {
	"parsed_path": path,
	"identity": {"authenticated": true, "method": "session", "sub": "u1", "groups": groups},
}

test_admin_asks_admins_for_a_device if {
	enrolled_device.allow == {"allowed": true, "require_device": true} with input as signed_in(["admin", "users"], ["admins"])
}

test_admin_is_for_admins_only if {
	enrolled_device.allow == false with input as signed_in(["admin"], ["staff"])
}

test_elsewhere_no_device_is_needed if {
	enrolled_device.allow == true with input as signed_in(["reports"], ["staff"])
}

test_anonymous_is_denied if {
	enrolled_device.allow == false with input as {"parsed_path": ["admin"], "identity": {"authenticated": false}}
}
