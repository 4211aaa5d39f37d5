# Returns, unchanged, the decision of envoyauth/response_test.go named by the request's
# x-conformance-decision header (test/conformance/decisions.json).
package conformance.decisions

allow := data.plugin_response_test.decisions[input.attributes.request.http.headers["x-conformance-decision"]]
