package envoy.examples.business_hours_test

import rego.v1

import data.envoy.examples.business_hours

user(groups) := {"identity": {"authenticated": true, "method": "session", "sub": "u1", "groups": groups}}

# The decision at an RFC 3339 instant.
at(timestamp, inp) := d if {
	d := business_hours.allow with input as inp with time.now_ns as time.parse_rfc3339_ns(timestamp)
}

test_weekday_morning_is_allowed if {
	# Wednesday 1 May 2024, 08:00 in Amsterdam (UTC+2 in summer).
	at("2024-05-01T06:00:00Z", user(["staff"])) == {
		"allowed": true,
		"reasons": ["within working hours; it is Wednesday 08:00 Europe/Amsterdam"],
	}
}

test_just_before_opening_is_denied if {
	d := at("2024-05-01T05:59:59Z", user(["staff"]))
	d == {
		"allowed": false,
		"reasons": ["access is limited to Monday to Friday, 08:00 to 18:00 Europe/Amsterdam; it is Wednesday 07:59 Europe/Amsterdam"],
	}
}

test_closing_hour_is_excluded if {
	at("2024-05-01T15:59:00Z", user(["staff"])).allowed == true
	at("2024-05-01T16:00:00Z", user(["staff"])).allowed == false
}

test_zone_follows_daylight_saving_time if {
	# In January Amsterdam is UTC+1: 07:30Z is 08:30 local.
	at("2024-01-10T07:30:00Z", user(["staff"])).allowed == true
	at("2024-05-01T05:30:00Z", user(["staff"])).allowed == false
}

test_weekday_is_local if {
	# Friday 23:30 UTC is already Saturday 01:30 in Amsterdam.
	d := at("2024-05-03T23:30:00Z", user(["oncall"]))
	d.reasons == ["on call; it is Saturday 01:30 Europe/Amsterdam"]
}

test_weekend_is_denied if {
	at("2024-05-04T10:00:00Z", user(["staff"])).allowed == false
}

test_on_call_at_any_time if {
	at("2024-05-04T02:00:00Z", user(["staff", "oncall"])).allowed == true
}

test_anonymous_must_sign_in if {
	at("2024-05-01T10:00:00Z", {"identity": {"authenticated": false}}) == {
		"allowed": false,
		"reasons": ["authentication required"],
	}
}
