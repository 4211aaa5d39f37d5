package envoy.authz

import rego.v1

# Two complete-rule values for one input: OPA reports a conflict at evaluation.
allow := true if input.a
allow := false if input.b
