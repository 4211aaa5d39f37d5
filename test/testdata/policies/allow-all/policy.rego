package envoy.authz

import rego.v1

default allow := true
