package envoy.examples.user_verification_test

import rego.v1

import data.envoy.examples.user_verification

signed_in(path) := {
	"parsed_path": path,
	"identity": {"authenticated": true, "method": "session", "sub": "u1", "groups": []},
}

test_payments_ask_for_user_verification if {
	user_verification.allow == {"allowed": true, "require_user_verification": true} with input as signed_in(["payments", "new"])
}

test_elsewhere_a_signed_in_user_is_enough if {
	user_verification.allow == true with input as signed_in(["reports"])
}

test_anonymous_is_denied if {
	user_verification.allow == false with input as {"parsed_path": ["payments"], "identity": {"authenticated": false}}
}
