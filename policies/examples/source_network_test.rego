package envoy.examples.source_network_test

import rego.v1

import data.envoy.examples.source_network

from(address, groups) := {
	"attributes": {"source": {"address": {"socketAddress": {"address": address, "portValue": 40000}}}},
	"identity": {"authenticated": true, "method": "session", "sub": "u1", "groups": groups},
}

decision(inp) := d if {
	d := source_network.allow with input as inp
}

test_office_ipv4_is_allowed if {
	decision(from("10.20.30.40", [])) == {"allowed": true, "reasons": ["10.20.30.40 is on a trusted network"]}
	decision(from("192.168.1.5", [])).allowed == true
}

test_office_ipv6_is_allowed if {
	decision(from("fd12:3456::1", [])).allowed == true
}

test_internet_is_denied if {
	decision(from("203.0.113.9", [])) == {
		"allowed": false,
		"reasons": ["203.0.113.9 is not on a trusted network, and remote access needs the group remote-access"],
	}
	decision(from("2001:db8::1", [])).allowed == false
}

test_network_boundaries if {
	decision(from("11.0.0.1", [])).allowed == false
	decision(from("192.169.0.1", [])).allowed == false
}

test_remote_access_group_from_anywhere if {
	decision(from("203.0.113.9", ["remote-access"])) == {
		"allowed": true,
		"reasons": ["remote access granted by group membership"],
	}
}

test_missing_source_address_is_not_trusted if {
	inp := {"attributes": {}, "identity": {"authenticated": true, "sub": "u1", "groups": []}}
	decision(inp) == {
		"allowed": false,
		"reasons": ["the source address is not on a trusted network, and remote access needs the group remote-access"],
	}
}

test_office_network_still_needs_sign_in if {
	inp := object.union(from("10.0.0.1", []), {"identity": {"authenticated": false}})
	decision(inp) == {"allowed": false, "reasons": ["authentication required"]}
}
