/**
 * Differential cases for the builtins Gatehouse provided first (time, sprintf, urlquery,
 * io.jwt.decode, digests, strings) and for OPA's own wasm net.cidr_contains.
 */

const T = '1700000000123456789'; // 2023-11-14T22:13:20.123456789Z
const jwt = (header: unknown, payload: unknown, sig = 'c2ln'): string =>
  `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${sig}`;
const nested = jwt({ alg: 'HS256', cty: 'JWT' }, 'x').replace(
  /\.[^.]*\./,
  `.${Buffer.from(jwt({ alg: 'HS256' }, { sub: 'inner' })).toString('base64url')}.`,
);

/** Rego expressions. */
export const EXISTING_CASES: readonly string[] = [
  // time.*
  `time.date(${T})`,
  `time.date([${T}, "Asia/Tokyo"])`,
  `time.date([0, "America/New_York"])`,
  `time.date([${T}, "Local"])`,
  `time.date(-1)`,
  `time.clock(${T})`,
  `time.clock([${T}, "Europe/London"])`,
  `time.clock([1690000000000000000, "Europe/London"])`,
  `time.weekday(0)`,
  `time.weekday([${T}, "Pacific/Kiritimati"])`,
  `time.weekday([${T}, "Not/AZone"])`,
  `time.parse_rfc3339_ns("2020-01-01T00:00:00Z")`,
  `time.parse_rfc3339_ns("2020-01-01T00:00:00.123456789+05:30")`,
  `time.parse_rfc3339_ns("1969-12-31T23:59:59.5Z")`,
  `time.parse_rfc3339_ns("2020-02-30T00:00:00Z")`,
  `time.parse_rfc3339_ns("not a time")`,
  `time.add_date(${T}, 0, 1, 0)`,
  `time.add_date(1582934400000000000, 1, 0, 0)`,
  `time.add_date(1698710400000000000, 0, 1, 0)`,
  `time.add_date(0, -1, -1, -1)`,
  `time.diff(0, 1000000000000000000)`,
  `time.diff(1675123200000000000, 1677628800000000000)`,
  `time.diff([${T}, "Asia/Tokyo"], [0, "UTC"])`,
  `time.parse_duration_ns("1h30m")`,
  `time.parse_duration_ns("-1.5µs")`,
  `time.parse_duration_ns("2562047h47m16.854775807s")`,
  `time.parse_duration_ns("1.000000001s")`,
  `time.parse_duration_ns("1.5d2h1w")`,
  `time.parse_duration_ns("1D")`,
  // sprintf
  `sprintf("%v %v %v %v", [[1, "a"], {"b": 1, "a": [null, true]}, "s", 1.5])`,
  `sprintf("%d %s %q %x %X %f %.2f %e %%", [3, "x", "q\\"\\n", 255, "hi", 1.5, 3.14159, 123456.789])`,
  `sprintf("%5d|%-5s|%05d|%+d|% d|%.2s|%c|%q", [3, "x", 42, 5, 7, "héllo", 65, 65])`,
  `sprintf("%s %d %t", [1, "a", true])`,
  `sprintf("%v %v", [1])`,
  `sprintf("%v", [1, 2])`,
  `sprintf("%v|%v|%v|%v", [1234567.5, 0.00001, 123456.5, -0.5])`,
  `sprintf("%v", [12345678901234567890])`,
  `sprintf("%b %o %O %#x", [5, 8, 8, 255])`,
  // urlquery.*
  `urlquery.encode("a b!*()~-_.'é/?&=")`,
  `urlquery.decode("a+b%20c%C3%A9")`,
  `urlquery.decode("%zz")`,
  `urlquery.encode_object({"b": ["2", "1"], "a": "x y", "c": {"z"}})`,
  `urlquery.encode_object({"c": {"z", "y"}})`,
  `urlquery.decode_object("a=1&b=2&a=3&c&d=&e=%20")`,
  `urlquery.decode_object("a=1;b=2")`,
  // io.jwt.decode
  `io.jwt.decode("${jwt({ alg: 'HS256', typ: 'JWT' }, { sub: 'alice', groups: ['a', 'b'], exp: 1700000000 })}")`,
  `io.jwt.decode("${jwt({ alg: 'none' }, { sub: 'x' }, '')}")`,
  `io.jwt.decode("${nested}")`,
  `io.jwt.decode("${jwt({ alg: 'HS256' }, [1])}")`,
  `io.jwt.decode("only.two")`,
  // crypto.*
  `crypto.sha256("hello")`,
  `crypto.sha256("é")`,
  `crypto.sha1("hello")`,
  `crypto.md5("hello")`,
  `crypto.hmac.sha256("message", "key")`,
  `crypto.hmac.sha1("message", "key")`,
  `crypto.hmac.sha512("message", "key")`,
  `crypto.hmac.md5("message", "key")`,
  `crypto.hmac.equal("abc", "abc")`,
  `crypto.hmac.equal("abc", "abd")`,
  // net.cidr_contains (compiled into the wasm module by OPA)
  `net.cidr_contains("10.0.0.0/8", "10.1.2.3")`,
  `net.cidr_contains("10.0.0.0/8", "11.1.2.3")`,
  `net.cidr_contains("10.0.0.0/8", "10.0.0.0/16")`,
  `net.cidr_contains("2001:db8::/32", "2001:db8::1")`,
  `net.cidr_contains("2001:db8::/32", "2001:db9::1")`,
  `net.cidr_contains("::/0", "::ffff:1.2.3.4")`,
  // strings and encodings left to the host
  `hex.encode("hé")`,
  `hex.decode("68c3a9")`,
  `hex.decode("zz")`,
  `base64url.encode_no_pad("hé?>")`,
  `strings.any_prefix_match("abc", ["x", "ab"])`,
  `strings.any_suffix_match(["abc", "q"], "bc")`,
  `indexof_n("aaaa", "aa")`,
  `indexof_n("héllo hé", "hé")`,
  `strings.count("aaaa", "aa")`,
  `strings.count("héllo", "")`,

  // time.now_ns: fixed for one evaluation, and now
  `time.now_ns() == time.now_ns()`,
  `time.now_ns() > 1700000000000000000`,
  // the SDK's own JS builtins (json.is_valid is compiled into the module by OPA)
  `json.is_valid("{\\"a\\": 1}")`,
  `json.is_valid("{")`,
  `regex.split("[,;]", "a,b;c")`,
  `yaml.is_valid("a: [1")`,
  `yaml.is_valid("a: 1")`,
  `yaml.marshal({"a": [1, "x"]})`,
  `yaml.unmarshal("a: [1, x]\\nb: true")`,
];
