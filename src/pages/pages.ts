/**
 * The pages Gatehouse answers with itself: deny, errors, sign-out confirmation, signed out,
 * who am I, not found. Each is HTML for a browser and JSON when the client asks for JSON
 * ({@link wantsJson}); none carries a token or an external asset, and none runs a script except
 * the who-am-I page's device section (its one script, allowed by hash: {@link PageSection}).
 */
import type { ErrorCode } from '../errors/codes.js';
import type { GatehouseError } from '../errors/gatehouse-error.js';
import type { AuthenticatedIdentity, Identity } from '../input/types.js';
import { htmlReply, jsonReply, wantsJson, type LocalReply } from './reply.js';
import { EMPTY, html, page, type Html } from './html.js';

/**
 * Where the reserved pages live. `docs/reference/reserved-paths.md` documents every one; a drift
 * test keeps the two in step.
 */
export const PATHS = Object.freeze({
  whoami: '/.gatehouse/',
  signIn: '/.gatehouse/sign_in',
  callback: '/.gatehouse/callback',
  signOut: '/.gatehouse/sign_out',
  signedOut: '/.gatehouse/signed_out',
  backchannelLogout: '/.gatehouse/backchannel_logout',
  /** Enrolled devices (with `device.webauthn`); its endpoints are under it. */
  devices: '/.gatehouse/devices',
  jwks: '/.well-known/gatehouse/jwks.json',
});

type Headers = Readonly<Record<string, string>>;
type ExtraHeaders = readonly (readonly [string, string])[];
type Tone = 'ok' | 'warn' | 'bad' | 'info';

/** The white card every page's content sits in: a tone, a small label above the one `h1`. */
function card(tone: Tone, eyebrow: string, title: string, content: Html): Html {
  return html`<section class="card${tone === 'info' ? '' : ` ${tone}`}" aria-labelledby="title">
<p class="eyebrow">${eyebrow}</p>
<h1 id="title">${title}</h1>
${content}
</section>`;
}

/** Sign-out is a POST form, never a link: it changes state, so no cross-site GET may trigger it. */
function signOutForm(variant: 'primary' | 'secondary' = 'primary'): Html {
  return html`<form method="post" action="${PATHS.signOut}"><button class="button${variant === 'secondary' ? ' secondary' : ''}" type="submit">Sign out</button></form>`;
}

function link(href: string, label: string, variant: 'primary' | 'secondary' = 'primary'): Html {
  return html`<a class="button${variant === 'secondary' ? ' secondary' : ''}" href="${href}">${label}</a>`;
}

/** Groups as text, `a, b`: the assertion JWT carries the exact array for anyone who needs it. */
function groupList(groups: readonly string[]): Html {
  return html`${groups.length === 0 ? 'None' : groups.join(', ')}`;
}

/** `1 Jan 2025, 14:05 UTC`: the same for every reader, whatever the server's locale. */
const DATE_TIME = new Intl.DateTimeFormat('en-GB', {
  dateStyle: 'medium',
  timeStyle: 'short',
  timeZone: 'UTC',
});

function inWords(seconds: number): string {
  if (seconds <= 0) return 'expired';
  const minutes = Math.max(1, Math.round(seconds / 60));
  if (minutes < 60) return `in ${minutes} minute${minutes === 1 ? '' : 's'}`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  const h = `${hours} hour${hours === 1 ? '' : 's'}`;
  return rest === 0 ? `in ${h}` : `in ${h} ${rest} min`;
}

/**
 * 403 for a signed-in caller the policy denied: who they are, what was denied, the policy's
 * reasons, the request id, and a way to sign out (to switch account). JSON, the same shape as
 * every JSON error Gatehouse sends (401s and error pages too):
 * `{"error":"forbidden","message":"…","reasons":[…],"request_id":"…"}`.
 *
 * @example denyPage({ headers, identity, method: 'GET', url: 'https://app.example.com/vault', reasons, requestId })
 */
export function denyPage(options: {
  headers: Headers;
  identity: Identity;
  method: string;
  /** scheme://host/path of the denied request, without its query (which may hold secrets). */
  url: string;
  reasons: readonly string[];
  requestId: string;
  status?: number;
}): LocalReply {
  const status = options.status ?? 403;
  if (wantsJson(options.headers)) {
    return jsonReply(status, {
      error: 'forbidden',
      message: 'The access rules do not allow this request.',
      reasons: options.reasons,
      request_id: options.requestId,
    });
  }
  const { identity } = options;
  const reasons =
    options.reasons.length > 0
      ? html`<ul>${options.reasons.map((r) => html`<li>${r}</li>`)}</ul>`
      : html`<p>The access rules gave no reason.</p>`;
  const who = identity.authenticated
    ? html`<dt>Signed in as</dt><dd>${identity.email ?? identity.sub}</dd>
${identity.name === null ? EMPTY : html`<dt>Name</dt><dd>${identity.name}</dd>`}
<dt>Groups</dt><dd>${groupList(identity.groups)}</dd>`
    : html`<dt>Signed in as</dt><dd>Not signed in</dd>`;
  const canSignOut = identity.authenticated && identity.method === 'session';
  // Denied the home page itself: a "home page" button would lead straight back here.
  const deniedHome = /^[a-z][a-z0-9+.-]*:\/\/[^/]*\/?$/i.test(options.url);
  const body = card(
    'bad',
    'Access denied',
    "You don't have access to this page",
    html`<p class="lead">This site's access rules don't allow you to open this page.</p>
<h2>Why</h2>
${reasons}
<h2>Details</h2>
<dl>
${who}
<dt>Page</dt><dd><code>${options.method} ${options.url}</code></dd>
<dt>Request id</dt><dd><code>${options.requestId}</code></dd>
</dl>
<p>If you think you should have access, ask the site's administrator and include the request id.${canSignOut ? ' Signed in with the wrong account? Sign out, then sign in with the right one.' : ''}</p>
<div class="actions">${deniedHome ? link(PATHS.whoami, 'See who you are signed in as') : link('/', 'Go to the home page')}${canSignOut ? signOutForm('secondary') : EMPTY}</div>`,
  );
  return htmlReply(status, page('Access denied', body));
}

/** What an error page says: plain words for the user, and what they can do next. */
interface Help {
  readonly tone: Tone;
  readonly eyebrow: string;
  readonly title: string;
  readonly explain: string;
  readonly next: string;
  /** The main way forward: start sign-in again, sign out from this page, retry, or nothing. */
  readonly action:
    | { readonly kind: 'sign-in' | 'retry'; readonly label: string }
    | { readonly kind: 'sign-out' }
    | { readonly kind: 'none' };
}

const TELL_ADMIN = 'If it keeps happening, tell your administrator and include the details below.';
const SIGN_IN_AGAIN = { kind: 'sign-in', label: 'Sign in again' } as const;

const UNAVAILABLE: Help = {
  tone: 'warn',
  eyebrow: 'Sign-in unavailable',
  title: "The sign-in service can't be reached",
  explain:
    "Gatehouse needs your organisation's sign-in service to check who you are, and it isn't answering right now. This is usually temporary.",
  next: `Wait a minute, then try again. ${TELL_ADMIN}`,
  action: { kind: 'sign-in', label: 'Try again' },
};

const NOT_VERIFIED: Help = {
  tone: 'bad',
  eyebrow: 'Sign-in failed',
  title: "Your sign-in couldn't be verified",
  explain:
    "The sign-in service answered, but Gatehouse couldn't confirm that the answer was genuine and meant for this site, so it didn't sign you in.",
  next: `Sign in again. ${TELL_ADMIN}`,
  action: SIGN_IN_AGAIN,
};

const ALREADY_USED: Help = {
  tone: 'warn',
  eyebrow: 'Sign-in failed',
  title: 'This sign-in was already used',
  explain:
    'Each sign-in can be completed only once. Going back, reloading the page or opening an old sign-in link causes this.',
  next: 'Sign in again.',
  action: SIGN_IN_AGAIN,
};

const SESSION_ENDED: Help = {
  tone: 'warn',
  eyebrow: 'Session ended',
  title: 'Your session has ended',
  explain: 'Your sign-in on this site is no longer valid.',
  next: 'Sign in again to continue.',
  action: SIGN_IN_AGAIN,
};

const POLICY_FAILED: Help = {
  tone: 'bad',
  eyebrow: 'Access check failed',
  title: "Access can't be checked right now",
  explain:
    "Gatehouse couldn't apply this site's access rules, so it blocked the request to be safe.",
  next: `Try again in a moment. ${TELL_ADMIN}`,
  action: { kind: 'none' },
};

const BAD_REQUEST: Help = {
  tone: 'bad',
  eyebrow: 'Request refused',
  title: "This request couldn't be understood",
  explain:
    "The address, or the data sent with it, isn't in a form Gatehouse accepts, so it blocked the request.",
  next: `Check the address and try again. ${TELL_ADMIN}`,
  action: { kind: 'none' },
};

const SOMETHING_WRONG: Help = {
  tone: 'bad',
  eyebrow: 'Error',
  title: 'Something went wrong',
  explain: "Gatehouse couldn't complete this request.",
  next: `Try again in a moment. ${TELL_ADMIN}`,
  action: { kind: 'retry', label: 'Try again' },
};

/** Every code a user can meet on a page, in plain words; anything else is {@link SOMETHING_WRONG}. */
const HELP: Partial<Record<ErrorCode, Help>> = {
  ERR_OIDC_UNAVAILABLE: UNAVAILABLE,
  ERR_JWKS_UNAVAILABLE: UNAVAILABLE,
  ERR_SESSION_STORE_UNAVAILABLE: {
    tone: 'warn',
    eyebrow: 'Temporarily unavailable',
    title: "Your session can't be checked right now",
    explain:
      "Gatehouse keeps sessions in a shared store, and it can't reach that store at the moment, so it can't tell whether your session is still valid. Nothing is wrong with your account.",
    next: `Try again in a moment. ${TELL_ADMIN}`,
    action: { kind: 'retry', label: 'Try again' },
  },
  ERR_OIDC_TXN_EXPIRED: {
    tone: 'warn',
    eyebrow: 'Sign-in expired',
    title: 'Your sign-in attempt expired',
    explain:
      'Sign-in has to be finished within a few minutes of starting it, and this attempt took longer. Nothing is wrong with your account.',
    next: 'Start again; it only takes a moment.',
    action: SIGN_IN_AGAIN,
  },
  ERR_OIDC_TXN_MISSING: {
    tone: 'warn',
    eyebrow: 'Sign-in failed',
    title: "Your sign-in couldn't be found in this browser",
    explain:
      "Gatehouse couldn't find the sign-in you started in this browser. This happens when sign-in is finished in a different browser, when cookies are blocked for this site, or when the sign-in page was left open for a long time.",
    next: 'Make sure cookies are allowed for this site, then sign in again from this browser.',
    action: SIGN_IN_AGAIN,
  },
  ERR_OIDC_STATE_MISMATCH: {
    tone: 'warn',
    eyebrow: 'Sign-in failed',
    title: "This sign-in doesn't match the one you started",
    explain:
      'The sign-in service sent you back with the answer to a different sign-in attempt. This usually happens when you start signing in in more than one tab or window.',
    next: 'Close the other sign-in tabs, then sign in again from this one.',
    action: SIGN_IN_AGAIN,
  },
  ERR_OIDC_STATE_REPLAYED: ALREADY_USED,
  ERR_HANDOFF_REPLAYED: ALREADY_USED,
  ERR_OIDC_TXN_INVALID: NOT_VERIFIED,
  ERR_OIDC_ID_TOKEN_INVALID: NOT_VERIFIED,
  ERR_OIDC_NONCE_MISMATCH: NOT_VERIFIED,
  ERR_OIDC_ISSUER_MISMATCH: NOT_VERIFIED,
  ERR_OIDC_EXCHANGE: NOT_VERIFIED,
  ERR_HANDOFF_INVALID: NOT_VERIFIED,
  ERR_OIDC_PROVIDER_ERROR: {
    tone: 'bad',
    eyebrow: 'Sign-in failed',
    title: "The sign-in service didn't sign you in",
    explain:
      "The sign-in service ended the sign-in without confirming who you are, for example because it was cancelled or your account isn't allowed to use this site.",
    next: "Sign in again. If you're refused again, ask your administrator for access and include the details below.",
    action: SIGN_IN_AGAIN,
  },
  ERR_OIDC_REFRESH_FAILED: SESSION_ENDED,
  ERR_SESSION_EXPIRED: SESSION_ENDED,
  ERR_SESSION_INVALID: SESSION_ENDED,
  ERR_SESSION_TOO_LARGE: {
    tone: 'bad',
    eyebrow: 'Sign-in failed',
    title: 'Your account details are too large to sign in',
    explain:
      'The sign-in service sent more information about your account, usually group memberships, than a browser can store for this site.',
    next: 'Your administrator can fix this by sending fewer groups to this site. Include the details below when you tell them.',
    action: { kind: 'none' },
  },
  ERR_RETURN_URL_INVALID: {
    tone: 'bad',
    eyebrow: 'Link refused',
    title: "This link can't be used to sign in",
    explain:
      "The link asked Gatehouse to send you somewhere that isn't on this site after sign-in, so Gatehouse refused it. This protects you from links that lead somewhere unexpected.",
    next: "Sign in from this site's own pages instead.",
    action: { kind: 'sign-in', label: 'Sign in' },
  },
  ERR_SIGN_OUT_FORBIDDEN: {
    tone: 'warn',
    eyebrow: 'Not signed out',
    title: 'Sign out from this site',
    explain:
      'For your safety, Gatehouse only signs you out when the request comes from a sign-out button on this site. Nothing has changed: if you were signed in, you still are.',
    next: 'To sign out, use the button below.',
    action: { kind: 'sign-out' },
  },
  ERR_POLICY_NOT_LOADED: POLICY_FAILED,
  ERR_POLICY_EVAL: POLICY_FAILED,
  ERR_DECISION_UNDEFINED: POLICY_FAILED,
  ERR_DECISION_INVALID: POLICY_FAILED,
  ERR_REQUEST_INVALID: BAD_REQUEST,
  ERR_PATH_INVALID: BAD_REQUEST,
  ERR_BODY_INVALID: BAD_REQUEST,
};

/** The plain-words help for `code` (exported for tests: every code a page can show has some). */
export function errorHelp(code: ErrorCode): Help {
  return HELP[code] ?? SOMETHING_WRONG;
}

/**
 * An error page: what happened in plain words, what to do next and a button to do it, and the
 * error code and request id for the administrator. Never the error's detail (`cause`). JSON:
 * `{"error":"ERR_…","message":"…","request_id":"…"}`. Both carry `x-gatehouse-error: <code>`.
 *
 * `retryUrl` is where "Sign in again" / "Try again" leads (default: `/.gatehouse/sign_in`).
 *
 * @example errorPage({ headers: view.headers, error: new GatehouseError('ERR_OIDC_TXN_EXPIRED'), requestId })
 */
export function errorPage(options: {
  headers: Headers;
  error: GatehouseError;
  requestId: string;
  retryUrl?: string;
}): LocalReply {
  const { error } = options;
  const status = error.spec.http;
  const coded: ExtraHeaders = [['x-gatehouse-error', error.code]];
  if (wantsJson(options.headers)) {
    return jsonReply(
      status,
      {
        error: error.code,
        message: error.spec.message,
        reasons: [],
        request_id: options.requestId,
      },
      coded,
    );
  }
  const help = errorHelp(error.code);
  const { action } = help;
  let primary: Html = EMPTY;
  if (action.kind === 'sign-out') primary = signOutForm();
  else if (action.kind === 'sign-in')
    primary = link(options.retryUrl ?? PATHS.signIn, action.label);
  else if (action.kind === 'retry' && options.retryUrl !== undefined)
    primary = link(options.retryUrl, action.label);
  const body = card(
    help.tone,
    help.eyebrow,
    help.title,
    html`<p class="lead">${help.explain}</p>
<p>${help.next}</p>
<div class="actions">${primary}${link('/', 'Go to the home page', primary === EMPTY ? 'primary' : 'secondary')}</div>
<h2>Details</h2>
<dl>
<dt>Error code</dt><dd><code>${error.code}</code></dd>
<dt>Request id</dt><dd><code>${options.requestId}</code></dd>
</dl>`,
  );
  return htmlReply(status, page(help.title, body), coded);
}

/** After sign-out (`/.gatehouse/signed_out`). JSON: `{"signed_out":true}`. */
export function signedOutPage(headers: Headers, extra: ExtraHeaders = []): LocalReply {
  if (wantsJson(headers)) return jsonReply(200, { signed_out: true }, extra);
  const body = card(
    'ok',
    'Signed out',
    "You're signed out",
    html`<p class="lead">Your session on this site has ended. To come back, you'll need to sign in again.</p>
<p class="hint">On a shared computer, also close the browser: you may still be signed in to your organisation's sign-in service.</p>
<div class="actions">${link(PATHS.signIn, 'Sign in again')}</div>`,
  );
  return htmlReply(200, page('Signed out', body), extra);
}

/**
 * The confirmation a GET of `/.gatehouse/sign_out` shows: a GET never signs out (a cross-site
 * link or image could send one), so this page offers the POST form. JSON:
 * `{"signed_in":…,"sign_out":{"method":"POST","path":"/.gatehouse/sign_out"}}`.
 *
 * @example signOutConfirmPage({ headers: view.headers, host: view.host, email: session?.email })
 */
export function signOutConfirmPage(options: {
  headers: Headers;
  /** The host being signed out of, as the browser addressed it. */
  host: string;
  /** Whether the request carries a Gatehouse session (valid or expired). */
  signedIn: boolean;
  email?: string | null | undefined;
}): LocalReply {
  if (wantsJson(options.headers)) {
    return jsonReply(200, {
      signed_in: options.signedIn,
      sign_out: { method: 'POST', path: PATHS.signOut },
    });
  }
  const who = options.signedIn
    ? html`<p class="lead">${options.email ? html`You're signed in as <strong>${options.email}</strong>. ` : EMPTY}Signing out ends your session on this site; you'll need to sign in again to come back.</p>`
    : html`<p class="lead">You don't seem to be signed in here. Signing out anyway clears any sign-in this browser still holds for this site.</p>`;
  const body = card(
    'info',
    'Sign out',
    `Sign out of ${options.host}?`,
    html`${who}
<div class="actions">${signOutForm()}${link('/', 'Cancel', 'secondary')}</div>`,
  );
  return htmlReply(200, page('Sign out', body));
}

/**
 * A section another concern adds to a page (the who-am-I page's devices,
 * src/device/webauthn/pages.ts): its escaped markup, and the Content-Security-Policy the page
 * must then carry (a section with a script allows exactly that script, by hash).
 */
export interface PageSection {
  readonly body: Html;
  readonly csp: string;
}

/**
 * Who am I (`/.gatehouse/`): identity, groups and session expiry; never a token; with
 * `devices`, the signed-in user's devices section after them, and that section's CSP. JSON: the
 * identity's fields except `claims`.
 *
 * @example whoamiPage(view.headers, identity, Math.floor(Date.now() / 1000))
 */
export function whoamiPage(
  headers: Headers,
  identity: AuthenticatedIdentity,
  now: number,
  devices?: PageSection,
): LocalReply {
  if (wantsJson(headers)) {
    return jsonReply(200, {
      authenticated: true,
      method: identity.method,
      sub: identity.sub,
      email: identity.email,
      email_verified: identity.email_verified,
      name: identity.name,
      groups: identity.groups,
      session_id: identity.session_id,
      issued_at: identity.issued_at,
      expires_at: identity.expires_at,
    });
  }
  const expires = new Date(identity.expires_at * 1000);
  const session = identity.method === 'session';
  const body = card(
    'ok',
    'Signed in',
    'Who am I',
    html`<p class="lead">This is what Gatehouse tells the sites it protects about you.</p>
<dl>
${identity.name === null ? EMPTY : html`<dt>Name</dt><dd>${identity.name}</dd>`}
<dt>Email</dt><dd>${identity.email === null ? 'Not provided' : html`${identity.email} <span class="hint">(${identity.email_verified ? 'verified' : 'not verified'})</span>`}</dd>
<dt>User id</dt><dd><code>${identity.sub}</code></dd>
<dt>Groups</dt><dd>${groupList(identity.groups)}</dd>
<dt>Signed in with</dt><dd>${session ? 'This browser (session cookie)' : 'An access token'}</dd>
<dt>${session ? 'Session expires' : 'Token expires'}</dt><dd><time datetime="${expires.toISOString()}">${DATE_TIME.format(expires)} UTC</time> <span class="hint nowrap">(${inWords(identity.expires_at - now)})</span></dd>
</dl>
${session && devices !== undefined ? devices.body : EMPTY}
<div class="actions">${link('/', 'Go to the home page')}${session ? signOutForm('secondary') : EMPTY}</div>`,
  );
  const reply = htmlReply(200, page('Who am I', body));
  if (!session || devices === undefined) return reply;
  return {
    ...reply,
    headers: reply.headers.map(([name, value]) =>
      name === 'content-security-policy' ? [name, devices.csp] : [name, value],
    ),
  };
}

/**
 * 404 for any other path under `/.gatehouse/` (or a reserved path that is off, e.g. sign-in
 * without an identity provider). JSON: `{"error":"not found"}`.
 *
 * @example notFoundPage(view.headers, view.requestId)
 */
export function notFoundPage(headers: Headers, requestId?: string): LocalReply {
  if (wantsJson(headers))
    return jsonReply(404, {
      error: 'not found',
      ...(requestId === undefined ? {} : { request_id: requestId }),
    });
  const body = card(
    'info',
    'Not found',
    "There's no page at this address",
    html`<p class="lead">This address is reserved for Gatehouse, and there's nothing at it. The link may be mistyped or out of date.</p>
<div class="actions">${link('/', 'Go to the home page')}${link(PATHS.whoami, "See who you're signed in as", 'secondary')}</div>`,
  );
  return htmlReply(404, page('Not found', body));
}
