package envoy.authz

allow if {
