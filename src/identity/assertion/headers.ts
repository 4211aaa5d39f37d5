/**
 * The request header changes Gatehouse makes on allow: spoofed identity headers out, Gatehouse's
 * own cookies out, the verified identity in.
 */
import { hasControlCharacter } from '../../response/header-safety.js';
import { GatehouseError } from '../../errors/gatehouse-error.js';
import { mentionsCookie, removeCookies } from '../session/cookies.js';
import { structuredStringList } from './structured-list.js';
import type { AuthenticatedIdentity } from '../../input/types.js';

/** Names of the identity headers (configurable, so oauth2-proxy's or Pomerium's can be used). */
export interface IdentityHeaderNames {
  readonly assertion: string;
  readonly user: string;
  readonly email: string;
  readonly groups: string;
}

/** Default identity header names. */
export const DEFAULT_IDENTITY_HEADERS: IdentityHeaderNames = Object.freeze({
  assertion: 'x-gatehouse-jwt-assertion',
  user: 'x-gatehouse-user',
  email: 'x-gatehouse-email',
  groups: 'x-gatehouse-groups',
});

/** Options for {@link identityHeaderMutations}. */
export interface IdentityHeaderOptions {
  /** The request headers as Envoy sent them. */
  readonly requestHeaders: Readonly<Record<string, string>>;
  readonly names: IdentityHeaderNames;
  /** The verified identity; absent for an anonymous caller (headers are then only stripped). */
  readonly identity?: AuthenticatedIdentity;
  /** The signed assertion for `names.assertion`. */
  readonly assertion?: string;
  /** Gatehouse's cookie names (session, sign-in transaction, …), removed from `cookie`. */
  readonly sessionCookieNames: readonly string[];
}

/** Header changes for the CheckResponse. */
export interface HeaderMutations {
  /** Headers to set, overwriting any existing value (lowercase names). */
  readonly set: readonly (readonly [string, string])[];
  /** Client-supplied headers to remove (lowercase names); never a name that is also in `set` (which overwrites). */
  readonly remove: readonly string[];
  /** The new `cookie` header; `null` to remove it; absent to leave it as it is. */
  readonly cookie?: string | null;
}

/**
 * Compute the request header changes for an allowed request.
 *
 * Every request header whose name, lowercased with `_` read as `-`, equals one of the identity
 * header names is removed, whatever its case or underscores (`X_Gatehouse-User`,
 * `x_gatehouse_user`): a client can never supply an identity header, and an upstream that
 * normalises `_` to `-` (as many CGI-style frameworks do) cannot be fooled either. When an
 * identity is given its headers are set; a value that would contain CR, LF, NUL or another
 * control character is not written at all. Groups are an RFC 8941 List of Strings
 * (`"admins", "staff"`); a group that cannot be an sf-string (non-ASCII, control characters)
 * is left out of the header and stays in the assertion JWT.
 *
 * `remove` never lists a name that `set` writes: `set` overwrites the client's copy, and a name
 * in both lists would make the outcome depend on the order Envoy applies them in.
 *
 * Gatehouse's cookies are cut out of the `cookie` header however it was built: pairs are split
 * on `;` and on `,` (a proxy merging two `cookie` lines joins them with `,`). When in doubt it
 * refuses rather than guess: more than one `cookie` header, or a `cookie` header that still
 * names one of Gatehouse's cookies (in any case) after they were cut out, is an error.
 *
 * @throws GatehouseError `ERR_COOKIE_AMBIGUOUS` when Gatehouse's cookies cannot be removed with certainty.
 * @example
 *   const { set, remove, cookie } = identityHeaderMutations({ requestHeaders, names: DEFAULT_IDENTITY_HEADERS, identity, assertion, sessionCookieNames: ['__Host-gatehouse'] });
 */
export function identityHeaderMutations(options: IdentityHeaderOptions): HeaderMutations {
  const { names, identity } = options;
  const { normalised: protectedNames, lengths } = protectedOf(names);

  const set: [string, string][] = [];
  if (identity !== undefined) {
    const put = (name: string, value: string | null | undefined) => {
      if (value !== null && value !== undefined && value !== '' && !hasControlCharacter(value))
        set.push([name.toLowerCase(), value]);
    };
    if (options.assertion !== undefined) put(names.assertion, options.assertion);
    put(names.user, identity.sub);
    put(names.email, identity.email);
    // An RFC 8941 List of Strings: no group name can read as two (issue 12 point 6).
    put(names.groups, structuredStringList(identity.groups));
  }

  const remove: string[] = [];
  let cookieHeader: string | undefined;
  for (const name in options.requestHeaders) {
    // Lowercasing and `_` → `-` keep the length: only names of a protected length can match.
    if (name.length === 6 && name.toLowerCase() === 'cookie') {
      if (cookieHeader !== undefined) throw ambiguous('more than one cookie header');
      cookieHeader = options.requestHeaders[name];
    }
    if (!lengths.has(name.length) || !protectedNames.has(normalise(name))) continue;
    const lower = name.toLowerCase();
    if (!set.some(([written]) => written === lower) && !remove.includes(lower)) remove.push(lower);
  }

  if (cookieHeader === undefined) return { set, remove };
  const ours = options.sessionCookieNames;
  // Most cookie headers never name one of Gatehouse's cookies, in any case: then nothing is cut
  // out and nothing is ambiguous (both need a name in the header), so the header is not parsed.
  if (!mayNameAny(ours).test(cookieHeader)) return { set, remove };
  let dropped = false;
  const kept = removeCookies(cookieHeader, (name) => {
    const drop = ours.includes(name);
    dropped ||= drop;
    return drop;
  });
  if (kept !== undefined && mentionsCookie(kept, ours))
    throw ambiguous('a cookie header still names a Gatehouse cookie after removal');
  if (!dropped) return { set, remove };
  // A rewritten header that could not be written (a control character in another cookie) would
  // be dropped at the end and leave the original, ours included, in place: remove it whole.
  if (kept !== undefined && hasControlCharacter(kept)) return { set, remove, cookie: null };
  return { set, remove, cookie: kept ?? null };
}

/**
 * Per list of cookie names, a pattern that matches every header in which one of them could be
 * found: the name in any ASCII case, or any non-ASCII character (`toLowerCase` turns a few into
 * ASCII letters, the Kelvin sign into `k`, which `mentionsCookie` would then see).
 */
const NAME_PATTERNS = new WeakMap<readonly string[], RegExp>();

function mayNameAny(names: readonly string[]): RegExp {
  let pattern = NAME_PATTERNS.get(names);
  if (pattern === undefined) {
    const escaped = names.map((name) => name.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&'));
    pattern = new RegExp(['[^\\x00-\\x7f]', ...escaped].join('|'), 'i');
    NAME_PATTERNS.set(names, pattern);
  }
  return pattern;
}

function ambiguous(why: string): GatehouseError {
  return new GatehouseError('ERR_COOKIE_AMBIGUOUS', { cause: new Error(why) });
}

/** The protected header names, normalised, and their lengths; computed once per names object. */
const PROTECTED = new WeakMap<
  IdentityHeaderNames,
  { readonly normalised: ReadonlySet<string>; readonly lengths: ReadonlySet<number> }
>();

function protectedOf(names: IdentityHeaderNames): {
  readonly normalised: ReadonlySet<string>;
  readonly lengths: ReadonlySet<number>;
} {
  let found = PROTECTED.get(names);
  if (found === undefined) {
    const normalised = new Set(
      [names.assertion, names.user, names.email, names.groups].map(normalise),
    );
    found = { normalised, lengths: new Set([...normalised].map((n) => n.length)) };
    PROTECTED.set(names, found);
  }
  return found;
}

/** Header name comparison key: lowercase, `_` read as `-`. */
function normalise(name: string): string {
  return name.toLowerCase().replaceAll('_', '-');
}
