# Example: working hours only, in the office's time zone; on-call staff at any time.
#
# Entrypoint: envoy/examples/business_hours/allow
#
# time.now_ns() is read once per evaluation, so every call in one decision sees the same
# instant. time.clock and time.weekday take [ns, zone] with an IANA zone name, so daylight
# saving time is handled for you.
package envoy.examples.business_hours

import rego.v1

zone := "Europe/Amsterdam"

working_days := {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday"}

# Open from 08:00 up to (not including) 18:00 local time.
opening_hour := 8

closing_hour := 18

# Members of these groups may come in at any time.
always_allowed_groups := {"oncall"}

now := time.now_ns()

weekday := time.weekday([now, zone])

clock := time.clock([now, zone])

local_time := sprintf("%s %02d:%02d %s", [weekday, clock[0], clock[1], zone])

working_hours if {
	weekday in working_days
	clock[0] >= opening_hour
	clock[0] < closing_hour
}

on_call if {
	some group in input.identity.groups
	group in always_allowed_groups
}

default allow := {"allowed": false, "reasons": ["authentication required"]}

allow := {
	"allowed": true,
	"reasons": [sprintf("on call; it is %s", [local_time])],
} if {
	input.identity.authenticated == true
	on_call
} else := {
	"allowed": true,
	"reasons": [sprintf("within working hours; it is %s", [local_time])],
} if {
	input.identity.authenticated == true
	working_hours
} else := {
	"allowed": false,
	"reasons": [sprintf("access is limited to Monday to Friday, %02d:00 to %02d:00 %s; it is %s", [opening_hour, closing_hour, zone, local_time])],
} if {
	input.identity.authenticated == true
}
