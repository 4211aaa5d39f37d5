package envoy.authz

import rego.v1

# Two reads of the clock in one evaluation must agree.
allow := {"a": time.now_ns(), "b": time.now_ns(), "same": time.now_ns() == time.now_ns(), "weekday": time.weekday(time.now_ns())}
