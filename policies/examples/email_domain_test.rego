package envoy.examples.email_domain_test

import rego.v1

import data.envoy.examples.email_domain

user(email, verified) := {"identity": {
	"authenticated": true,
	"method": "session",
	"sub": "u1",
	"email": email,
	"email_verified": verified,
	"name": null,
	"groups": [],
	"claims": {},
	"session_id": "s1",
	"issued_at": 0,
	"expires_at": 0,
}}

decision(inp) := d if {
	d := email_domain.allow with input as inp
}

denied := {"allowed": false, "reasons": ["a verified email address at example.com is required"]}

test_verified_address_at_the_domain if {
	decision(user("alice@example.com", true)) == {
		"allowed": true,
		"reasons": ["alice@example.com is a verified address at example.com"],
	}
}

test_domain_is_case_insensitive if {
	decision(user("Alice@Example.COM", true)).allowed == true
}

test_unverified_address_is_denied if {
	decision(user("alice@example.com", false)) == denied
}

test_other_domain_is_denied if {
	decision(user("eve@example.org", true)) == denied
}

test_lookalike_domains_are_denied if {
	decision(user("eve@example.com.evil.test", true)) == denied
	decision(user("eve@notexample.com", true)) == denied
	decision(user("eve@sub.example.com", true)) == denied
}

test_two_at_signs_are_denied if {
	decision(user("eve@evil.test@example.com", true)) == denied
}

test_no_email_is_denied if {
	decision(user(null, false)) == denied
}

test_anonymous_must_sign_in if {
	decision({"identity": {"authenticated": false}}) == {"allowed": false, "reasons": ["authentication required"]}
}
