/** Differential cases for strings.render_template (Go text/template, the subset Gatehouse runs). */

const rt = (template: string, vars: string): string =>
  `strings.render_template(${JSON.stringify(template)}, ${vars})`;

/** Rego expressions. */
export const TEMPLATE_CASES: readonly string[] = [
  `strings.render_template("Hello {{.name}}!", {"name": "alice"})`,
  `strings.render_template("{{.n}}|{{.f}}|{{.b}}|{{.z}}|{{.a}}|{{.o}}|{{.s}}", {"n": 10, "f": 1.5, "b": true, "z": null, "a": [1, "x", {"k": 2}], "o": {"b": 1, "a": [2]}, "s": "<&>"})`,
  `strings.render_template("[{{.missing}}]", {})`,
  `strings.render_template("[{{.a.b}}]", {"a": {}})`,
  `strings.render_template("[{{.a.b}}]", {"a": "s"})`,
  `strings.render_template("[{{.a}}]", {"a": [null, {"k": null}]})`,
  `strings.render_template("{{range .a}}[{{.}}]{{end}}", {"a": [1, 2]})`,
  `strings.render_template("{{range $i, $v := .a}}{{$i}}={{$v}} {{end}}", {"a": ["x", "y"]})`,
  `strings.render_template("{{range $k, $v := .o}}{{$k}}:{{$v}},{{end}}", {"o": {"b": 1, "a": 2}})`,
  `strings.render_template("{{range .a}}{{.}}{{else}}empty{{end}}", {"a": []})`,
  `strings.render_template("{{if .x}}yes{{else}}no{{end}}", {"x": false})`,
  `strings.render_template("{{if .n}}t{{else}}f{{end}}", {"n": 0})`,
  `strings.render_template("{{if .s}}t{{else}}f{{end}}|{{if .a}}t{{else}}f{{end}}|{{if .z}}t{{else}}f{{end}}", {"s": "", "a": [], "z": null})`,
  `strings.render_template("{{if .a}}A{{else if .b}}B{{else}}C{{end}}.", {"a": false, "b": true})`,
  `strings.render_template("{{with .o}}{{.k}}{{else}}none{{end}}", {"o": {"k": 1}})`,
  `strings.render_template("{{with .o}}{{.k}}{{else}}none{{end}}", {"o": {}})`,
  `strings.render_template("{{not .b}} {{and .b .c}} {{or .b .c}}", {"b": false, "c": "x"})`,
  `strings.render_template("{{/* c */}}a{{- /* d */ -}} b", {})`,
  `strings.render_template("{{ .a -}}  |  {{- .b }}", {"a": 1, "b": 2})`,
  `strings.render_template("{{$x := .a}}{{$x}}{{$.a}}", {"a": "v"})`,
  `strings.render_template("{{\\"lit\\"}} {{1}} {{true}}", {})`,
  `strings.render_template("{{if eq .s \\"x\\"}}yes{{end}}", {"s": "x"})`,
  `strings.render_template("{{if ne .s \\"x\\"}}yes{{else}}no{{end}}", {"s": "x"})`,
  `strings.render_template("{{.s | len}} {{len .a}} {{len .o}}", {"s": "héllo", "a": [1, 2], "o": {"k": 1}})`,
  `strings.render_template("{{index .a 1}} {{index .o \\"k\\"}}", {"a": [1, 2], "o": {"k": 1}})`,
  `strings.render_template("[{{index .a 5}}]", {"a": [1]})`,
  `strings.render_template("{{range .users}}{{.name}} ({{.role}}){{end}}", {"users": [{"name": "a", "role": "admin"}, {"name": "b", "role": "guest"}]})`,
  `strings.render_template("{{.a", {"a": 1})`,
  `strings.render_template("{{if .a}}x", {"a": 1})`,
  rt('{{if eq .n "10"}}y{{else}}n{{end}}', '{"n": 10}'), // a vars number is a json.Number: a string
  rt('{{if eq .n 10}}y{{else}}n{{end}}', '{"n": 10}'), // json.Number vs int: Go fails
  rt('{{if lt .a .b}}y{{else}}n{{end}}', '{"a": 9, "b": 10}'), // compared as text
  rt('{{if lt .a .b}}y{{else}}n{{end}}|{{if ge .a .b}}y{{end}}', '{"a": "a", "b": "b"}'),
  rt('{{lt 1 2}} {{gt "b" "a"}} {{le 2 2}} {{ge 1 2}} {{lt 1.5 2.5}}', '{}'),
  rt('{{lt 1.5 2}}', '{}'), // float vs int: Go fails
  rt('{{eq .s .t}} {{eq .n 1 2 10}}', '{"s": "a", "t": 1, "n": 10}'),
  rt('{{eq .n 1 2}}', '{"n": 10}'),
  rt('{{if eq .b true}}y{{end}}{{if lt .b true}}z{{end}}', '{"b": true}'),
  rt('{{printf "%q|%s|%v" .s .s .s}}', '{"s": "x\\"y"}'),
  rt('{{ .s | printf "%s!" }}', '{"s": "x"}'),
  rt('{{print .s .n 1 2 "z"}}', '{"s": "x", "n": 3}'),
  rt('{{print}}|{{println 1 2}}|{{print "a" "b"}}|{{print 1 2}}|{{println .s}}', '{"s": "x"}'),
  rt('{{html .s}}|{{js .s}}|{{urlquery .s}}', `{"s": "<a href='x'>&\\"</a> é=1;\\n"}`),
  rt('{{len .n}} {{len .s}}', '{"n": 3, "s": "héllo"}'),
  rt(
    '{{range $i, $name := .names}}{{if $i}}, {{end}}{{$name}}{{end}}',
    '{"names": ["a", "b", "c"]}',
  ),
  rt('{{index .a 0}} {{index .o "k" 1}}', '{"a": [1], "o": {"k": [5, 6]}}'),
  rt('{{index .a .i}}', '{"a": [1], "i": 0}'), // a json.Number is no index
  rt('{{slice .s 1 3}}|{{slice .s 2}}|{{slice .a 1}}', '{"s": "hello", "a": [1, 2, 3]}'),
  rt('{{slice .s 2 9}}', '{"s": "hello"}'),
  rt('{{if and .a (eq .b "x")}}y{{end}}', '{"a": true, "b": "x"}'),
  rt("{{1.5}} {{1e3}} {{0x10}} {{'a'}} {{-2}}", '{}'),
  rt('{{range .a}}{{if eq . "b"}}{{break}}{{end}}{{.}}{{end}}', '{"a": ["a", "b", "c"]}'),
  rt('{{range .a}}{{if eq . "b"}}{{continue}}{{end}}{{.}}{{end}}', '{"a": ["a", "b", "c"]}'),
  rt('{{break}}', '{}'),
  rt('{{not .missing}} [{{.missing.x}}]', '{}'),
  rt('{{range $k, $v := .}}{{$k}}={{$v}};{{end}}', '{"b": 2, "a": 1}'),
  rt('{{with $x := .a}}{{$x}}{{end}}', '{"a": "v"}'),
  rt('{{range .a}}{{$.p}}{{.}}{{end}}', '{"a": [1, 2], "p": ">"}'),
  rt('{{range 3}}{{.}}{{end}}', '{}'),
  rt('{{nil}}', '{}'),
  rt('{{nope .a}}', '{"a": 1}'), // not a Go function: a parse error in Go too
  rt('{{else}}', '{}'),
];
