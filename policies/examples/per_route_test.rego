package envoy.examples.per_route_test

import rego.v1

import data.envoy.examples.per_route

request(route, method, groups) := {
	"attributes": {
		"request": {"http": {"method": method, "path": "/"}},
		"contextExtensions": {"route": route},
	},
	"identity": {"authenticated": true, "method": "session", "sub": "u1", "groups": groups},
}

anonymous(route) := object.union(request(route, "GET", []), {"identity": {"authenticated": false}})

decision(inp) := d if {
	d := per_route.allow with input as inp
}

test_public_route_without_identity if {
	decision(anonymous("status")) == {
		"allowed": true,
		"headers": {"x-route": "status"},
		"reasons": ["route status is public"],
	}
}

test_private_route_needs_sign_in if {
	decision(anonymous("wiki")) == {"allowed": false, "reasons": ["authentication required"]}
}

test_group_member_is_allowed if {
	decision(request("wiki", "POST", ["engineering"])) == {
		"allowed": true,
		"headers": {"x-route": "wiki"},
		"reasons": ["route wiki allows POST for your groups"],
	}
}

test_non_member_is_denied if {
	decision(request("admin", "GET", ["staff", "engineering"])) == {
		"allowed": false,
		"reasons": ["route admin allows any method for the groups admins"],
	}
}

test_route_methods_are_enforced if {
	decision(request("reports", "get", ["finance"])).allowed == true
	decision(request("reports", "DELETE", ["finance"])) == {
		"allowed": false,
		"reasons": ["route reports allows GET, HEAD for the groups finance"],
	}
}

test_unknown_route_is_denied if {
	decision(request("billing", "GET", ["admins"])) == {
		"allowed": false,
		"reasons": [`no access rule for route "billing"`],
	}
}

test_missing_route_is_denied if {
	inp := {
		"attributes": {"request": {"http": {"method": "GET", "path": "/"}}},
		"identity": {"authenticated": true, "sub": "u1", "groups": ["admins"]},
	}
	decision(inp).reasons == [`no access rule for route ""`]
}
