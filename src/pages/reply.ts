import { createHash } from 'node:crypto';
import { STYLE } from './html.js';

/**
 * A response Gatehouse answers itself, through the Check response (a DeniedHttpResponse that
 * Envoy sends to the client as is): redirects, its own pages, JWKS.
 */
export interface LocalReply {
  readonly status: number;
  /** In order; a name may repeat (`set-cookie`). */
  readonly headers: readonly (readonly [string, string])[];
  readonly body: string;
}

/**
 * The Content-Security-Policy of every page: nothing loads, nothing runs, no framing; the one
 * style allowed is the page shell's own stylesheet, by hash (an injected `<style>` or `style=`
 * attribute does not apply). No `form-action`: Chromium applies it to the redirects after a
 * submit, and sign-out's POST ends at the identity provider's end-session endpoint.
 */
export const CONTENT_SECURITY_POLICY = `default-src 'none'; style-src '${styleHash(STYLE)}'; frame-ancestors 'none'; base-uri 'none'`;

function styleHash(css: string): string {
  return `sha256-${createHash('sha256').update(css, 'utf8').digest('base64')}`;
}

/** Headers on everything Gatehouse renders itself: no caching, no framing, no scripts. */
const PAGE_HEADERS: readonly (readonly [string, string])[] = [
  ['cache-control', 'no-store'],
  ['x-content-type-options', 'nosniff'],
  ['referrer-policy', 'no-referrer'],
  ['content-security-policy', CONTENT_SECURITY_POLICY],
];

/** The headers of Gatehouse's JWKS (`/.well-known/gatehouse/jwks.json`), wherever it is served. */
export const JWKS_HEADERS: readonly (readonly [string, string])[] = [
  ['content-type', 'application/jwk-set+json'],
  ['cache-control', 'public, max-age=300'],
];

/** Gatehouse's JWKS as a local reply (through the Check; the operator listener sends the same). */
export function jwksReply(jwks: { readonly keys: readonly object[] }): LocalReply {
  return { ...jsonReply(200, jwks), headers: JWKS_HEADERS };
}

/** A page: `text/html`, with {@link PAGE_HEADERS} and then `headers`. */
export function htmlReply(
  status: number,
  body: string,
  headers: readonly (readonly [string, string])[] = [],
): LocalReply {
  return {
    status,
    headers: [['content-type', 'text/html; charset=utf-8'], ...PAGE_HEADERS, ...headers],
    body,
  };
}

/**
 * A JSON answer (`value` serialised, newline-terminated), with the same headers as a page.
 * `<`, `>` and `&` are written as `\u003c`, `\u003e`, `\u0026` (the same JSON): a hostile
 * string inside, such as a policy reason, never reads as markup to anything that sniffs.
 */
export function jsonReply(
  status: number,
  value: unknown,
  headers: readonly (readonly [string, string])[] = [],
): LocalReply {
  const body = JSON.stringify(value).replace(
    /[<>&]/g,
    (c) => `\\u00${c.charCodeAt(0).toString(16)}`,
  );
  return {
    status,
    headers: [['content-type', 'application/json'], ...PAGE_HEADERS, ...headers],
    body: `${body}\n`,
  };
}

/** A 302 to `location` (change the status for a 303), with the page headers. */
export function redirectReply(
  location: string,
  headers: readonly (readonly [string, string])[] = [],
): LocalReply {
  return { status: 302, headers: [['location', location], ...PAGE_HEADERS, ...headers], body: '' };
}

/** Whether the client asked for JSON rather than HTML (API clients, fetch, XHR). */
export function wantsJson(headers: Readonly<Record<string, string>>): boolean {
  const accept = headers['accept'] ?? '';
  // Only explicit preferences count: `*/*` (curl, most API clients) gets JSON.
  return quality(accept, 'application/json') >= htmlQuality(accept);
}

/**
 * A browser navigation: GET or HEAD whose Accept prefers `text/html` and that is not a fetch/XHR.
 * Only these are redirected to sign-in; everything else gets 401.
 */
export function isBrowserNavigation(
  method: string,
  headers: Readonly<Record<string, string>>,
): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false;
  const mode = headers['sec-fetch-mode'];
  if (mode !== undefined && mode !== 'navigate') return false;
  if ((headers['x-requested-with'] ?? '').toLowerCase() === 'xmlhttprequest') return false;
  const accept = headers['accept'] ?? '';
  const htmlQ = htmlQuality(accept);
  return htmlQ > 0 && htmlQ > quality(accept, 'application/json');
}

function htmlQuality(accept: string): number {
  return Math.max(quality(accept, 'text/html'), quality(accept, 'application/xhtml+xml'));
}

/** The q-value `accept` gives `type` explicitly (exact, then `major/*`); 0 when not named. */
function quality(accept: string, type: string): number {
  const [major] = type.split('/');
  let exact: number | undefined;
  let range: number | undefined;
  for (const part of accept.split(',')) {
    const [media = '', ...params] = part.trim().toLowerCase().split(';');
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number.parseFloat(qParam.slice(2));
    const value = Number.isFinite(q) ? q : 0;
    if (media === type) exact = value;
    else if (media === `${major}/*`) range = value;
  }
  return exact ?? range ?? 0;
}
