package envoy.authz

import rego.v1

allow if {
	resp := http.send({"method": "GET", "url": "https://example.invalid/authz"})
	resp.body.allowed == true
}
