package envoy.authz

import rego.v1

allow if input.user in data.admins
