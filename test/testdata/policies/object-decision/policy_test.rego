package envoy.authz_test

import rego.v1

# Must be ignored by compile (*_test.rego); it would not even compile to wasm alone.
test_default_denies if data.envoy.authz.allow.allowed == false
