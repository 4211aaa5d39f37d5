# Gatehouse example policy: role-based access by path, method and route.
#
# Entrypoint: envoy/authz/allow (Gatehouse's default). It always yields an OPA-Envoy decision
# object, never a bare boolean:
#
#   allowed:               {"allowed": true,  "headers": {"x-policy-role": <role>}, "reasons": [...]}
#   not signed in:         {"allowed": false, "reasons": ["authentication required"]}
#   signed in, not allowed {"allowed": false, "reasons": [<why>]}
#
# No deny here sets "http_status" or "body", on purpose. That leaves the response to Gatehouse:
#   - an unauthenticated caller is sent to sign-in (a 302 to the identity provider for a
#     browser, a 401 with WWW-Authenticate for an API client);
#   - an authenticated caller gets Gatehouse's 403 page listing the "reasons".
# A deny that sets its own http_status or body is sent exactly as written instead.
#
# Who the caller is comes ONLY from input.identity. Gatehouse fills it after verifying the
# session cookie or the bearer JWT, so its groups can be trusted. Never read identity from
# request headers (Authorization, X-Forwarded-User, ...) in a policy: io.jwt.decode does not
# verify signatures, and headers are whatever the client chose to send.
#
# Test it with `opa test policies/ -v` (policies/authz_test.rego).
package envoy.authz

import rego.v1

# --- configuration -------------------------------------------------------------------------

# Identity-provider groups grant roles.
group_roles := {
	"admins": "admin",
	"engineering": "editor",
	"staff": "viewer",
}

# Roles grant methods on path prefixes. Prefixes are lists of whole path segments, so
# ["api"] matches /api and /api/items but never /apiary. The empty prefix matches every path.
role_permissions := {
	"admin": [{"methods": ["*"], "prefix": []}],
	"editor": [
		{"methods": ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"], "prefix": ["api"]},
		{"methods": ["GET", "HEAD"], "prefix": ["docs"]},
	],
	"viewer": [
		{"methods": ["GET", "HEAD"], "prefix": ["api"]},
		{"methods": ["GET", "HEAD"], "prefix": ["docs"]},
	],
}

# When several roles allow a request, the first in this list is reported.
role_order := ["admin", "editor", "viewer"]

# Paths anyone may reach, signed in or not.
public_prefixes := [["healthz"], ["public"]]

# Per-route rules. Envoy names the route in the ext_authz filter's per-route config:
#
#   typed_per_filter_config:
#     envoy.filters.http.ext_authz:
#       "@type": type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute
#       check_settings: { context_extensions: { route: admin } }
#
# and it arrives as input.attributes.contextExtensions.route. A route listed here requires one
# of its roles on every path, public prefixes included, before the path rules above apply.
# Routes not listed here have no extra requirement.
route_roles := {
	"admin": ["admin"],
	"internal": ["admin", "editor"],
}

# --- the request ---------------------------------------------------------------------------

method := upper(input.attributes.request.http.method)

# input.parsed_path is the path split into percent-decoded segments, without the query
# string: /api/items?x=1 is ["api", "items"]. (Let Envoy normalise paths — normalize_path,
# merge_slashes — so the policy and the upstream see the same one.)
path_segments := input.parsed_path

path := concat("/", ["", concat("/", path_segments)])

route := input.attributes.contextExtensions.route

# --- who is asking -------------------------------------------------------------------------

authenticated if input.identity.authenticated == true

roles contains role if {
	authenticated
	some group in input.identity.groups
	role := group_roles[group]
}

# "alice@example.com (roles: admin, viewer)", for the reasons shown on the deny page.
caller := sprintf("%s (roles: %s)", [name, role_list]) if {
	name := object.get(input.identity, "email", null)
	is_string(name)
} else := sprintf("%s (roles: %s)", [input.identity.sub, role_list])

role_list := concat(", ", sort(roles)) if count(roles) > 0

else := "none"

# --- what they may do ----------------------------------------------------------------------

prefix_matches(prefix) if array.slice(path_segments, 0, count(prefix)) == prefix

public if {
	some prefix in public_prefixes
	prefix_matches(prefix)
}

# The roles this route demands; undefined when the route has no rule.
route_requirement := route_roles[route]

route_satisfied if {
	some role in route_requirement
	role in roles
}

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

# The strongest role that allows the request; undefined when none does.
granting_role := [r | some r in role_order; r in granting_roles][0]

# --- the decision --------------------------------------------------------------------------

# Anything the rules below do not cover (for example an input without a method) is denied.
default allow := {"allowed": false, "reasons": ["no rule allowed the request"]}

# The checks run top to bottom; the first that matches decides.
allow := {
	# 1. Public paths, on routes without a role requirement: everyone.
	"allowed": true,
	"headers": {"x-policy-role": "public"},
	"reasons": [sprintf("%s is public", [path])],
} if {
	not route_requirement
	public
} else := {
	# 2. Nobody signed in: deny without a status or body, so Gatehouse starts sign-in.
	"allowed": false,
	"reasons": ["authentication required"],
} if {
	not authenticated
} else := {
	# 3. The route demands a role the caller lacks.
	"allowed": false,
	"reasons": [sprintf("route %s requires one of the roles %s; %s", [route, concat(", ", route_requirement), caller])],
} if {
	route_requirement
	not route_satisfied
} else := {
	# 4. A role allows this method on this path.
	"allowed": true,
	"headers": {"x-policy-role": granting_role},
	"reasons": [sprintf("role %s allows %s %s", [granting_role, method, path])],
} if {
	granting_role
} else := {
	# 5. Signed in, but no role allows it: Gatehouse shows its 403 page with this reason.
	"allowed": false,
	"reasons": [sprintf("%s may not %s %s", [caller, method, path])],
}
