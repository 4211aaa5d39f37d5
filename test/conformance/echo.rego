# The whole input document, as the decision's body: the conformance test compares what each
# system gives the policy.
package conformance.echo

allow := {"allowed": false, "http_status": 200, "body": json.marshal(input)}
