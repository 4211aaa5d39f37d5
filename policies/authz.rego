# Gatehouse example policy: role-based access by path and method.
#
# Entrypoint: envoy/authz/allow (the default). It always yields an OPA-Envoy decision object:
#   {"allowed": bool, "headers": {...}, "http_status": n, "body": "...", "reasons": [...]}.
#
# Who the caller is:
#   1. input.identity, when Gatehouse established it (input.identity.authenticated == true):
#      verified session or bearer token; its groups are trusted.
#   2. Otherwise the claims of an "Authorization: Bearer <jwt>" header, decoded with
#      io.jwt.decode. io.jwt.decode does NOT verify the signature: this fallback is only safe
#      when something in front (Envoy's jwt_authn filter) has already verified the token.
#      Its expiry is still checked here.
package envoy.authz

import rego.v1

# Groups grant roles.
group_roles := {
	"admins": "admin",
	"engineering": "editor",
	"staff": "viewer",
}

# Roles grant methods on path prefixes (path segments, so /api never matches /apiary).
role_permissions := {
	"admin": [{"methods": ["*"], "prefix": []}],
	"editor": [
		{"methods": ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"], "prefix": ["api"]},
		{"methods": ["GET", "HEAD"], "prefix": ["docs"]},
	],
	"viewer": [{"methods": ["GET", "HEAD"], "prefix": ["api"]}, {"methods": ["GET", "HEAD"], "prefix": ["docs"]}],
}

# The most powerful role wins when several grant access.
role_order := ["admin", "editor", "viewer"]

# Paths anyone may reach, signed in or not.
public_prefixes := [["healthz"], ["public"]]

http_request := input.attributes.request.http

method := upper(http_request.method)

# input.parsed_path is the path split into segments, without the query string.
path_segments := input.parsed_path

path := concat("/", ["", concat("/", path_segments)])

# --- who is asking -------------------------------------------------------------------------

bearer_token := token if {
	auth := http_request.headers.authorization
	lower(substring(auth, 0, 7)) == "bearer "
	token := trim_space(substring(auth, 7, -1))
}

bearer_claims := payload if {
	[_, payload, _] := io.jwt.decode(bearer_token)
	is_number(payload.exp)
	payload.exp * 1000000000 > time.now_ns()
}

identity_verified if input.identity.authenticated == true

authenticated if identity_verified

authenticated if bearer_claims.sub

groups := input.identity.groups if {
	identity_verified
} else := bearer_claims.groups if {
	is_array(bearer_claims.groups)
} else := []

subject := input.identity.sub if identity_verified

else := bearer_claims.sub if bearer_claims.sub

else := "anonymous"

roles contains role if {
	some group in groups
	role := group_roles[group]
}

# --- what they may do ----------------------------------------------------------------------

prefix_matches(prefix) if array.slice(path_segments, 0, count(prefix)) == prefix

permits(permission) if {
	some m in permission.methods
	m in {"*", method}
	prefix_matches(permission.prefix)
}

granting_roles contains role if {
	some role in roles
	some permission in role_permissions[role]
	permits(permission)
}

# The first role in role_order that grants access; undefined when none does.
granting_role := [r | some r in role_order; r in granting_roles][0]

public if {
	some prefix in public_prefixes
	prefix_matches(prefix)
}

# --- the decision --------------------------------------------------------------------------

default allow := {
	"allowed": false,
	"http_status": 403,
	"body": "Forbidden",
	"reasons": ["no rule allowed the request"],
}

allow := {
	"allowed": true,
	"headers": {"x-policy-role": "public"},
	"reasons": [sprintf("%s is public", [path])],
} if public

allow := {
	"allowed": true,
	"headers": {"x-policy-role": granting_role, "x-policy-subject": subject},
	"reasons": [sprintf("role %s allows %s %s", [granting_role, method, path])],
} if {
	not public
	authenticated
	granting_role
}

allow := {
	"allowed": false,
	"http_status": 401,
	"body": "Unauthorized",
	"reasons": ["authentication required"],
} if {
	not public
	not authenticated
}

allow := {
	"allowed": false,
	"http_status": 403,
	"body": "Forbidden",
	"reasons": [sprintf("%s (roles %v) may not %s %s", [subject, sort(roles), method, path])],
} if {
	not public
	authenticated
	not granting_role
}
