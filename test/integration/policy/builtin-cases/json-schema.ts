/**
 * Differential cases for json.verify_schema and json.match_schema. Verdicts are compared for
 * every case; error lists where gojsonschema and Gatehouse word them alike (one error each).
 */

const S = `{"type": "object", "properties": {"name": {"type": "string", "minLength": 2}, "age": {"type": "integer", "minimum": 0}, "role": {"enum": ["admin", "guest"]}, "email": {"type": "string", "format": "email"}}, "required": ["name"], "additionalProperties": false}`;

/** Rego expressions. */
export const JSON_SCHEMA_CASES: readonly string[] = [
  `json.verify_schema(${S})`,
  `json.verify_schema(${JSON.stringify(S)})`,
  `json.verify_schema({"type": "nope"})[0]`,
  `json.verify_schema("{")[0]`,
  `json.match_schema({"name": "al", "age": 3, "role": "admin", "email": "a@example.com"}, ${S})`,
  `json.match_schema(${JSON.stringify('{"name": "al"}')}, ${JSON.stringify(S)})`,
  `json.match_schema({"age": 3}, ${S})`,
  `json.match_schema({"name": 3}, ${S})`,
  `json.match_schema({"name": "a"}, ${S})`,
  `json.match_schema({"name": "al", "age": -1}, ${S})`,
  `json.match_schema({"name": "al", "x": 1}, ${S})`,
  `json.match_schema({"name": "al", "role": "root"}, ${S})`,
  `json.match_schema({"name": "al", "email": "not an email"}, ${S})`,
  `json.match_schema({"name": "al", "age": 1.5}, ${S})`,
  `json.match_schema({"age": "x", "role": 1, "x": 2}, ${S})[0]`,
  `json.match_schema({"x": 1}, ${S})`,
  `json.match_schema("[1, 2, 3]", {"type": "array", "items": {"type": "integer"}, "maxItems": 2})`,
  `json.match_schema("\\"x\\"", {"type": "string", "pattern": "^[0-9]+$"})`,
  `json.match_schema("x", {"type": "string"})`,
  `json.match_schema({"a": 1}, {"type": "nope"})`,
  `json.match_schema({"a": 1}, "{")`,
];
