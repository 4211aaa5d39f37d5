/**
 * The builtins Gatehouse gives compiled policies.
 *
 * OPA's wasm compiler implements most builtins inside the module (e.g. `net.cidr_contains`,
 * `glob.match`, `regex.match`, `base64.encode`, `json.marshal`); the rest are imported from the
 * host by name. The host side is the SDK's small JS table ({@link SDK_BUILTINS}) plus the
 * functions here ({@link GATEHOUSE_BUILTINS}). A policy needing anything else (`http.send`,
 * `net.lookup_ip_addr`, …) is refused at load with `ERR_POLICY_BUILTIN_MISSING`.
 *
 * A builtin is called with its arguments as plain JSON values (a set arrives as an array) and
 * returns JSON, or a `RegoSet` (src/deps/rego-value.ts) wherever OPA's builtin returns a set;
 * `undefined` makes the Rego expression undefined, a thrown error aborts the evaluation.
 */
import { EvalContext } from './context.js';
import * as crypto from './crypto.js';
import * as glob from './glob.js';
import * as globIntersect from './glob-intersect.js';
import * as json from './json-marshal.js';
import * as jsonPatch from './json-patch.js';
import * as jsonSchema from './json-schema.js';
import * as jwt from './jwt.js';
import * as jwtSign from './jwt-sign.js';
import * as jwtVerify from './jwt-verify.js';
import * as net from './net.js';
import * as numbers from './numbers.js';
import * as opa from './opa.js';
import * as regex from './regex.js';
import * as semver from './semver.js';
import { SDK_BUILTINS } from './sdk.js';
import * as strings from './strings.js';
import * as template from './template.js';
import * as time from './time.js';
import * as timeLayout from './time-layout.js';
import * as units from './units.js';
import * as urlquery from './urlquery.js';
import * as uuid from './uuid.js';
import * as x509 from './x509.js';
import * as x509Verify from './x509-verify.js';

export { EvalContext, systemClock, type NanoClock } from './context.js';
export { SDK_BUILTINS } from './sdk.js';

// The SDK's customBuiltins contract is `{ [name]: Function }` over JSON values. `never[]`
// accepts every builtin's own typed parameters without opening an `any` hole.
type Builtin = (...args: never[]) => unknown;

/** Builds the host builtins for one loaded policy, bound to its evaluation context. */
export function createBuiltins(ctx: EvalContext): Record<string, Builtin> {
  return {
    'time.now_ns': time.nowNs(ctx),
    'time.date': time.date,
    'time.clock': time.clock,
    'time.weekday': time.weekday,
    'time.add_date': time.addDate,
    'time.diff': time.diff,
    'time.parse_rfc3339_ns': time.parseRfc3339Ns,
    'time.parse_duration_ns': time.parseDurationNs,
    'time.format': timeLayout.formatTime,
    'time.parse_ns': timeLayout.parseNs,
    'urlquery.encode': urlquery.encode,
    'urlquery.decode': urlquery.decode,
    'urlquery.encode_object': urlquery.encodeObject,
    'urlquery.decode_object': urlquery.decodeObject,
    'io.jwt.decode': jwt.decode,
    'io.jwt.decode_verify': jwtVerify.decodeVerify(ctx),
    'io.jwt.verify_rs256': jwtVerify.verifyAsymmetric('RS256'),
    'io.jwt.verify_rs384': jwtVerify.verifyAsymmetric('RS384'),
    'io.jwt.verify_rs512': jwtVerify.verifyAsymmetric('RS512'),
    'io.jwt.verify_ps256': jwtVerify.verifyAsymmetric('PS256'),
    'io.jwt.verify_ps384': jwtVerify.verifyAsymmetric('PS384'),
    'io.jwt.verify_ps512': jwtVerify.verifyAsymmetric('PS512'),
    'io.jwt.verify_es256': jwtVerify.verifyAsymmetric('ES256'),
    'io.jwt.verify_es384': jwtVerify.verifyAsymmetric('ES384'),
    'io.jwt.verify_es512': jwtVerify.verifyAsymmetric('ES512'),
    'io.jwt.verify_eddsa': jwtVerify.verifyAsymmetric('EdDSA'),
    'io.jwt.verify_hs256': jwtVerify.verifyHmac('HS256'),
    'io.jwt.verify_hs384': jwtVerify.verifyHmac('HS384'),
    'io.jwt.verify_hs512': jwtVerify.verifyHmac('HS512'),
    'io.jwt.encode_sign': jwtSign.encodeSignObjects,
    'io.jwt.encode_sign_raw': jwtSign.encodeSignRaw,
    'crypto.md5': crypto.digest('md5'),
    'crypto.sha1': crypto.digest('sha1'),
    'crypto.sha256': crypto.digest('sha256'),
    'crypto.hmac.md5': crypto.hmac('md5'),
    'crypto.hmac.sha1': crypto.hmac('sha1'),
    'crypto.hmac.sha256': crypto.hmac('sha256'),
    'crypto.hmac.sha512': crypto.hmac('sha512'),
    'crypto.hmac.equal': crypto.hmacEqual,
    'hex.encode': strings.hexEncode,
    'hex.decode': strings.hexDecode,
    'base64url.encode_no_pad': strings.base64urlEncodeNoPad,
    'strings.any_prefix_match': strings.anyPrefixMatch,
    'strings.any_suffix_match': strings.anySuffixMatch,
    'strings.count': strings.count,
    indexof_n: strings.indexofN,
    'strings.render_template': template.renderTemplate,
    'glob.quote_meta': glob.quoteMeta,
    'net.cidr_is_valid': net.cidrIsValid,
    'net.cidr_expand': net.cidrExpand,
    'net.cidr_merge': net.cidrMerge,
    'units.parse': units.parse,
    'units.parse_bytes': units.parseBytes,
    'uuid.rfc4122': uuid.rfc4122(ctx),
    'uuid.parse': uuid.parse,
    'semver.is_valid': semver.isValid,
    'semver.compare': semver.compare,
    'numbers.range_step': numbers.rangeStep,
    'rand.intn': numbers.randIntn(ctx),
    'json.marshal_with_options': json.marshalWithOptions,
    'json.patch': jsonPatch.patch,
    'json.verify_schema': jsonSchema.verifySchema,
    'json.match_schema': jsonSchema.matchSchema,
    'opa.runtime': opa.runtime,
    trace: opa.trace,
    'regex.replace': regex.replace,
    'regex.find_n': regex.findN,
    'regex.template_match': regex.templateMatch,
    'regex.globs_match': globIntersect.globsMatch,
    'crypto.x509.parse_certificates': x509.parseCertificates,
    'crypto.x509.parse_and_verify_certificates': x509Verify.parseAndVerify(ctx),
    'crypto.x509.parse_and_verify_certificates_with_options':
      x509Verify.parseAndVerifyWithOptions(ctx),
  };
}

/** Names of the builtins Gatehouse implements on the host. */
export const GATEHOUSE_BUILTINS: readonly string[] = Object.freeze(
  Object.keys(createBuiltins(new EvalContext())).sort(),
);

/** Every builtin name the host can answer: the SDK's and Gatehouse's. */
export const HOST_BUILTINS: ReadonlySet<string> = new Set([...SDK_BUILTINS, ...GATEHOUSE_BUILTINS]);
