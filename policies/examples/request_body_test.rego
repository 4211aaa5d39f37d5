package envoy.examples.request_body_test

import rego.v1

import data.envoy.examples.request_body

payment(body, groups) := {
	"attributes": {"request": {"http": {"method": "POST", "path": "/api/payments"}}},
	"parsed_path": ["api", "payments"],
	"parsed_body": body,
	"truncated_body": false,
	"identity": {"authenticated": true, "method": "bearer", "sub": "u1", "groups": groups},
}

decision(inp) := d if {
	d := request_body.allow with input as inp
}

test_within_limit if {
	decision(payment({"amount": 250, "currency": "EUR"}, ["staff"])) == {
		"allowed": true,
		"headers": {"x-payment-limit": "1000"},
		"reasons": ["amount 250 is within your limit of 1000"],
	}
}

test_limit_is_inclusive if {
	decision(payment({"amount": 1000}, ["staff"])).allowed == true
}

test_over_limit if {
	decision(payment({"amount": 1000.5}, ["staff"])) == {
		"allowed": false,
		"reasons": ["amount 1000.5 exceeds your limit of 1000"],
	}
}

test_highest_group_limit_wins if {
	decision(payment({"amount": 50000}, ["staff", "finance-approvers", "finance"])).headers == {"x-payment-limit": "100000"}
}

test_no_limit_for_groups if {
	decision(payment({"amount": 1}, ["engineering"])) == {
		"allowed": false,
		"reasons": ["none of your groups may make payments"],
	}
}

bad_request := {
	"allowed": false,
	"http_status": 400,
	"body": "Expected a JSON body with a positive number \"amount\".",
	"reasons": ["no positive amount in the JSON body"],
}

test_missing_or_invalid_amount_is_400 if {
	decision(payment({"currency": "EUR"}, ["finance"])) == bad_request
	decision(payment({"amount": "100"}, ["finance"])) == bad_request
	decision(payment({"amount": -5}, ["finance"])) == bad_request
	decision(payment({"amount": 0}, ["finance"])) == bad_request
	decision(payment([1, 2], ["finance"])) == bad_request
	decision(payment(null, ["finance"])) == bad_request
}

test_form_body_is_400 if {
	# application/x-www-form-urlencoded parses to arrays of strings.
	decision(payment({"amount": ["5"]}, ["finance"])) == bad_request
}

test_truncated_body_is_413 if {
	inp := object.union(payment(null, ["finance"]), {"truncated_body": true})
	decision(inp).http_status == 413
}

test_other_requests_pass if {
	inp := object.union(payment(null, ["staff"]), {"parsed_path": ["api", "payments", "42"]})
	decision(inp).reasons == ["not a payment"]
	get := object.union(payment(null, ["staff"]), {"attributes": {"request": {"http": {"method": "GET"}}}})
	decision(get).allowed == true
}

test_anonymous_must_sign_in if {
	inp := object.union(payment({"amount": 1}, []), {"identity": {"authenticated": false}})
	decision(inp) == {"allowed": false, "reasons": ["authentication required"]}
}
