# Example: only people with a verified email address at an allowed domain.
#
# Entrypoint: envoy/examples/email_domain/allow
#
# email_verified matters: many identity providers let users type any address, and an
# unverified "ceo@example.com" proves nothing. The domain is compared as the whole part after
# the single "@", case-insensitively, so "eve@example.com.evil.test" and
# "eve@notexample.com" do not pass.
package envoy.examples.email_domain

import rego.v1

allowed_domains := {"example.com"}

default allow := {"allowed": false, "reasons": ["authentication required"]}

# The domain of the caller's email; undefined when there is no email or it is malformed.
email_domain := lower(parts[1]) if {
	is_string(input.identity.email)
	parts := split(input.identity.email, "@")
	count(parts) == 2
}

allow := {
	"allowed": true,
	"reasons": [sprintf("%s is a verified address at %s", [input.identity.email, email_domain])],
} if {
	input.identity.authenticated == true
	input.identity.email_verified == true
	email_domain in allowed_domains
} else := {
	"allowed": false,
	"reasons": [sprintf("a verified email address at %s is required", [concat(" or ", sort(allowed_domains))])],
} if {
	input.identity.authenticated == true
}
