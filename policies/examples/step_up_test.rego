package envoy.examples.step_up_test

import rego.v1

import data.envoy.examples.step_up

signed_in(path, groups) := {
	"parsed_path": path,
	"identity": {"authenticated": true, "method": "session", "sub": "u1", "groups": groups},
}

test_admin_asks_admins_for_mfa if {
	step_up.allow == {"allowed": true, "acr_values": ["urn:gatehouse:mfa"]} with input as signed_in(["admin", "users"], ["admins"])
}

test_admin_is_for_admins_only if {
	step_up.allow == false with input as signed_in(["admin"], ["staff"])
}

test_payments_ask_for_a_recent_sign_in if {
	step_up.allow == {"allowed": true, "max_auth_age_seconds": 300} with input as signed_in(["payments", "new"], [])
}

test_elsewhere_a_signed_in_user_is_enough if {
	step_up.allow == true with input as signed_in(["reports"], [])
}

test_anonymous_is_denied if {
	step_up.allow == false with input as {"parsed_path": ["payments"], "identity": {"authenticated": false}}
}
