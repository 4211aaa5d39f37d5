package envoy.authz_test

import rego.v1

import data.envoy.authz

# 2023-11-14T22:13:20Z, and a token expiring an hour later.
now_ns := 1700000000000000000

key := {"kty": "oct", "k": base64url.encode_no_pad("test-only-hmac-key-not-a-secret!")}

token(claims) := io.jwt.encode_sign({"alg": "HS256", "typ": "JWT"}, claims, key)

bearer(claims) := sprintf("Bearer %s", [token(claims)])

request(method, path, headers) := {
	"attributes": {"request": {"http": {"method": method, "path": path, "headers": headers}}},
	"parsed_path": [s | some s in split(trim_prefix(path, "/"), "/"); s != ""],
	"parsed_query": {},
}

with_identity(req, groups) := object.union(req, {"identity": {"authenticated": true, "sub": "alice", "groups": groups}})

decision(req) := d if {
	d := authz.allow with input as req with time.now_ns as now_ns
}

test_public_path_is_allowed_without_identity if {
	d := decision(request("GET", "/healthz", {}))
	d.allowed == true
	d.headers["x-policy-role"] == "public"
}

test_anonymous_is_401 if {
	d := decision(request("GET", "/api/items", {}))
	d.allowed == false
	d.http_status == 401
	d.reasons == ["authentication required"]
}

test_verified_identity_groups_grant_roles if {
	d := decision(with_identity(request("DELETE", "/api/items/1", {}), ["engineering"]))
	d.allowed == true
	d.headers == {"x-policy-role": "editor", "x-policy-subject": "alice"}
	d.reasons == ["role editor allows DELETE /api/items/1"]
}

test_viewer_may_read_but_not_write if {
	decision(with_identity(request("GET", "/api/items", {}), ["staff"])).allowed == true
	d := decision(with_identity(request("POST", "/api/items", {}), ["staff"]))
	d.allowed == false
	d.http_status == 403
	d.reasons == [`alice (roles ["viewer"]) may not POST /api/items`]
}

test_strongest_role_wins if {
	d := decision(with_identity(request("GET", "/api/x", {}), ["staff", "admins", "engineering"]))
	d.headers["x-policy-role"] == "admin"
}

test_prefix_matches_whole_segments_only if {
	d := decision(with_identity(request("GET", "/apiary", {}), ["staff"]))
	d.allowed == false
	d.http_status == 403
}

test_admin_may_do_anything if {
	decision(with_identity(request("PURGE", "/internal/cache", {}), ["admins"])).allowed == true
}

test_unknown_group_is_403 if {
	d := decision(with_identity(request("GET", "/api/items", {}), ["contractors"]))
	d.http_status == 403
}

test_bearer_claims_used_without_identity if {
	auth := bearer({"sub": "bob", "groups": ["staff"], "exp": 1700003600})
	d := decision(request("GET", "/docs/intro", {"authorization": auth}))
	d.allowed == true
	d.headers == {"x-policy-role": "viewer", "x-policy-subject": "bob"}
}

test_bearer_scheme_is_case_insensitive if {
	auth := sprintf("bearer %s", [token({"sub": "bob", "groups": ["staff"], "exp": 1700003600})])
	decision(request("GET", "/docs", {"authorization": auth})).allowed == true
}

test_expired_bearer_is_401 if {
	auth := bearer({"sub": "bob", "groups": ["admins"], "exp": 1699999999})
	decision(request("GET", "/api/items", {"authorization": auth})).http_status == 401
}

test_bearer_without_exp_is_401 if {
	auth := bearer({"sub": "bob", "groups": ["admins"]})
	decision(request("GET", "/api/items", {"authorization": auth})).http_status == 401
}

test_garbage_bearer_is_401 if {
	decision(request("GET", "/api/items", {"authorization": "Bearer not-a-jwt"})).http_status == 401
}

test_verified_identity_overrides_bearer_groups if {
	auth := bearer({"sub": "mallory", "groups": ["admins"], "exp": 1700003600})
	req := with_identity(request("DELETE", "/api/items/1", {"authorization": auth}), ["staff"])
	d := decision(req)
	d.allowed == false
	d.http_status == 403
}

test_unauthenticated_identity_falls_back_to_bearer if {
	auth := bearer({"sub": "bob", "groups": ["engineering"], "exp": 1700003600})
	req := object.union(request("POST", "/api/items", {"authorization": auth}), {"identity": {"authenticated": false}})
	decision(req).headers["x-policy-role"] == "editor"
}
