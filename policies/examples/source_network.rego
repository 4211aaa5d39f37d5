# Example: the network a request comes from as an extra signal, never as the only one.
#
# Entrypoint: envoy/examples/source_network/allow
#
# Every caller must be signed in (zero trust: the office network is not a credential).
# From a trusted network any signed-in user is let through; from anywhere else only members
# of "remote-access".
#
# input.attributes.source.address.socketAddress.address is the peer address Envoy saw: the
# client itself, or the last proxy or load balancer in front of Envoy. If there is one,
# configure Envoy's original-IP detection (xff_num_trusted_hops / use_remote_address) so
# Envoy reports the client. Never read X-Forwarded-For in a policy: the client writes it.
package envoy.examples.source_network

import rego.v1

trusted_networks := [
	"10.0.0.0/8",
	"192.168.0.0/16",
	"fd00::/8",
]

remote_groups := {"remote-access"}

source_ip := input.attributes.source.address.socketAddress.address

from_trusted_network if {
	some cidr in trusted_networks
	net.cidr_contains(cidr, source_ip)
}

remote_allowed if {
	some group in input.identity.groups
	group in remote_groups
}

default allow := {"allowed": false, "reasons": ["authentication required"]}

allow := {
	"allowed": true,
	"reasons": [sprintf("%s is on a trusted network", [source_ip])],
} if {
	input.identity.authenticated == true
	from_trusted_network
} else := {
	"allowed": true,
	"reasons": ["remote access granted by group membership"],
} if {
	input.identity.authenticated == true
	remote_allowed
} else := {
	"allowed": false,
	"reasons": [sprintf("%s is not on a trusted network, and remote access needs the group %s", [
		object.get(input.attributes, ["source", "address", "socketAddress", "address"], "the source address"),
		concat(" or ", sort(remote_groups)),
	])],
} if {
	input.identity.authenticated == true
}
