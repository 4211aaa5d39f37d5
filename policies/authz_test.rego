package envoy.authz_test

import rego.v1

import data.envoy.authz

# --- fixtures ------------------------------------------------------------------------------

# A request as Gatehouse builds it: attributes plus parsed_path (leading slash dropped, split
# on "/"), anonymous unless a test adds an identity.
request(method, path) := {
	"attributes": {"request": {"http": {"method": method, "path": path, "headers": {}}}},
	"parsed_path": [s | some s in split(trim_prefix(path, "/"), "/"); s != ""],
	"parsed_query": {},
	"parsed_body": null,
	"truncated_body": false,
	"identity": {"authenticated": false},
}

# input.identity for a verified session, as Gatehouse fills it.
identity(sub, email, groups) := {
	"authenticated": true,
	"method": "session",
	"sub": sub,
	"email": email,
	"email_verified": true,
	"name": null,
	"groups": groups,
	"claims": {"sub": sub, "email": email, "groups": groups},
	"session_id": "s-1",
	"issued_at": 1700000000,
	"expires_at": 1700003600,
}

as_user(req, groups) := object.union(req, {"identity": identity("alice", "alice@example.com", groups)})

on_route(req, route) := object.union(req, {"attributes": {"contextExtensions": {"route": route}}})

decision(req) := d if {
	d := authz.allow with input as req
}

# --- public paths --------------------------------------------------------------------------

test_public_path_without_identity if {
	decision(request("GET", "/healthz")) == {
		"allowed": true,
		"headers": {"x-policy-role": "public"},
		"reasons": ["/healthz is public"],
	}
}

test_public_prefix_covers_subpaths if {
	decision(request("POST", "/public/assets/app.css")).allowed == true
}

test_public_prefix_matches_whole_segments_only if {
	decision(request("GET", "/publicity")).reasons == ["authentication required"]
}

# --- unauthenticated -----------------------------------------------------------------------

test_anonymous_starts_sign_in if {
	d := decision(request("GET", "/api/items"))
	d == {"allowed": false, "reasons": ["authentication required"]}

	# No status or body: Gatehouse decides between a sign-in redirect and a 401.
	not "http_status" in object.keys(d)
	not "body" in object.keys(d)
}

test_missing_identity_is_anonymous if {
	req := object.remove(request("GET", "/api/items"), ["identity"])
	decision(req) == {"allowed": false, "reasons": ["authentication required"]}
}

test_authorization_header_is_ignored if {
	# Only input.identity counts; a bearer header Gatehouse did not verify grants nothing.
	token := "eyJhbGciOiJub25lIn0.eyJzdWIiOiJtYWxsb3J5IiwiZ3JvdXBzIjpbImFkbWlucyJdfQ."
	req := object.union(request("GET", "/api/items"), {"attributes": {"request": {"http": {"headers": {"authorization": sprintf("Bearer %s", [token])}}}}})
	decision(req).reasons == ["authentication required"]
}

test_identity_authenticated_must_be_true if {
	req := object.union(request("GET", "/api/items"), {"identity": {"authenticated": "true", "groups": ["admins"]}})
	decision(req).reasons == ["authentication required"]
}

# --- roles ---------------------------------------------------------------------------------

test_editor_may_write_api if {
	decision(as_user(request("DELETE", "/api/items/1"), ["engineering"])) == {
		"allowed": true,
		"headers": {"x-policy-role": "editor"},
		"reasons": ["role editor allows DELETE /api/items/1"],
	}
}

test_viewer_may_read_api if {
	d := decision(as_user(request("GET", "/api/items"), ["staff"]))
	d.allowed == true
	d.headers == {"x-policy-role": "viewer"}
}

test_viewer_may_not_write if {
	d := decision(as_user(request("POST", "/api/items"), ["staff"]))
	d == {"allowed": false, "reasons": ["alice@example.com (roles: viewer) may not POST /api/items"]}

	# No status or body: Gatehouse renders its 403 page with the reason.
	not "http_status" in object.keys(d)
}

test_method_is_case_insensitive if {
	decision(as_user(request("get", "/docs/intro"), ["staff"])).allowed == true
}

test_editor_may_not_write_docs if {
	decision(as_user(request("PUT", "/docs/intro"), ["engineering"])).allowed == false
}

test_strongest_role_is_reported if {
	d := decision(as_user(request("GET", "/api/x"), ["staff", "admins", "engineering"]))
	d.headers == {"x-policy-role": "admin"}
}

test_admin_may_do_anything if {
	decision(as_user(request("PURGE", "/internal/cache"), ["admins"])).allowed == true
}

test_api_prefix_matches_whole_segments_only if {
	decision(as_user(request("GET", "/apiary"), ["staff"])).allowed == false
}

test_unknown_group_has_no_role if {
	decision(as_user(request("GET", "/api/items"), ["contractors"])) == {
		"allowed": false,
		"reasons": ["alice@example.com (roles: none) may not GET /api/items"],
	}
}

test_no_groups_has_no_role if {
	decision(as_user(request("GET", "/docs"), [])).allowed == false
}

test_reason_names_sub_when_there_is_no_email if {
	req := object.union(request("POST", "/api/items"), {"identity": identity("svc-42", null, ["staff"])})
	decision(req).reasons == ["svc-42 (roles: viewer) may not POST /api/items"]
}

test_bearer_identity_is_treated_like_a_session if {
	bearer := object.union(identity("ci-bot", null, ["engineering"]), {"method": "bearer", "session_id": null})
	req := object.union(request("PUT", "/api/items/7"), {"identity": bearer})
	decision(req).headers == {"x-policy-role": "editor"}
}

# --- per-route rules -----------------------------------------------------------------------

test_admin_route_allows_admins if {
	decision(on_route(as_user(request("GET", "/settings"), ["admins"]), "admin")).allowed == true
}

test_admin_route_refuses_other_roles if {
	d := decision(on_route(as_user(request("GET", "/api/items"), ["staff", "engineering"]), "admin"))
	d == {
		"allowed": false,
		"reasons": ["route admin requires one of the roles admin; alice@example.com (roles: editor, viewer)"],
	}
}

test_admin_route_has_no_public_paths if {
	d := decision(on_route(request("GET", "/public/logo.png"), "admin"))
	d.reasons == ["authentication required"]
}

test_internal_route_still_applies_path_rules if {
	# editor satisfies the route, but editors may not PUT under /docs.
	decision(on_route(as_user(request("GET", "/api/x"), ["engineering"]), "internal")).allowed == true
	decision(on_route(as_user(request("PUT", "/docs/x"), ["engineering"]), "internal")).allowed == false
}

test_unlisted_route_has_no_requirement if {
	decision(on_route(as_user(request("GET", "/api/x"), ["staff"]), "shop")).allowed == true
	decision(on_route(request("GET", "/healthz"), "shop")).allowed == true
}

# --- malformed input -----------------------------------------------------------------------

test_input_without_method_is_denied if {
	req := {"parsed_path": ["api"], "identity": identity("alice", null, ["admins"])}
	decision(req) == {"allowed": false, "reasons": ["no rule allowed the request"]}
}
