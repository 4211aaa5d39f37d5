# Example: one policy for many routes, keyed by a name Envoy attaches to each route.
#
# Entrypoint: envoy/examples/per_route/allow
#
# Envoy sets the name per route in the ext_authz filter's per-route config:
#
#   routes:
#   - match: { prefix: "/wiki" }
#     route: { cluster: wiki }
#     typed_per_filter_config:
#       envoy.filters.http.ext_authz:
#         "@type": type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute
#         check_settings: { context_extensions: { route: wiki } }
#
# (Istio: the same through an EnvoyFilter, or one AuthorizationPolicy per workload.) The policy
# reads it as input.attributes.contextExtensions.route. A route with no name, or a name this
# table does not know, is denied: a new route is closed until someone writes its rule.
package envoy.examples.per_route

import rego.v1

routes := {
	# Anyone, signed in or not.
	"status": {"public": true},
	# Any of these groups, any method.
	"wiki": {"groups": {"staff", "engineering"}},
	# Admins only.
	"admin": {"groups": {"admins"}},
	# Read-only for finance.
	"reports": {"groups": {"finance"}, "methods": {"GET", "HEAD"}},
}

route := input.attributes.contextExtensions.route

rule := routes[route]

method := upper(input.attributes.request.http.method)

in_group if {
	some group in input.identity.groups
	group in rule.groups
}

method_allowed if not rule.methods

method_allowed if method in rule.methods

default allow := {"allowed": false, "reasons": ["authentication required"]}

allow := {
	"allowed": true,
	"headers": {"x-route": route},
	"reasons": [sprintf("route %s is public", [route])],
} if {
	rule.public == true
} else := {
	"allowed": false,
	"reasons": ["authentication required"],
} if {
	input.identity.authenticated != true
} else := {
	"allowed": false,
	"reasons": [sprintf("no access rule for route %q", [object.get(input.attributes, ["contextExtensions", "route"], "")])],
} if {
	not rule
} else := {
	"allowed": true,
	"headers": {"x-route": route},
	"reasons": [sprintf("route %s allows %s for your groups", [route, method])],
} if {
	in_group
	method_allowed
} else := {
	"allowed": false,
	"reasons": [sprintf("route %s allows %s for the groups %s", [
		route,
		concat(", ", sort(object.get(rule, "methods", {"any method"}))),
		concat(", ", sort(rule.groups)),
	])],
}
