package envoy.examples.group_test

import rego.v1

import data.envoy.examples.group

member_of(groups) := {"identity": {"authenticated": true, "method": "bearer", "sub": "u1", "groups": groups}}

test_member_is_allowed if {
	group.allow with input as member_of(["sre"])
}

test_any_one_group_is_enough if {
	group.allow with input as member_of(["staff", "engineering"])
}

test_other_groups_are_denied if {
	not group.allow with input as member_of(["staff", "finance"])
}

test_no_groups_is_denied if {
	not group.allow with input as member_of([])
}

test_group_names_are_exact if {
	not group.allow with input as member_of(["SRE", "engineering-interns"])
}

test_anonymous_is_denied if {
	group.allow == false with input as {"identity": {"authenticated": false}}
}
