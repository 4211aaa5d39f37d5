import type { GatehouseError } from '../errors/gatehouse-error.js';
import type { AuthenticatedIdentity, Identity } from '../input/types.js';
import { htmlReply, jsonReply, wantsJson, type LocalReply } from '../reserved/reply.js';
import { html, page, type Html } from './html.js';

/** Where the reserved pages live. */
export const PATHS = Object.freeze({
  whoami: '/.gatehouse/',
  signIn: '/.gatehouse/sign_in',
  callback: '/.gatehouse/callback',
  signOut: '/.gatehouse/sign_out',
  signedOut: '/.gatehouse/signed_out',
  jwks: '/.well-known/gatehouse/jwks.json',
});

type Headers = Readonly<Record<string, string>>;

function signOutForm(label = 'Sign out'): Html {
  // A POST form: sign-out changes state, so it is never a plain link (no cross-site GET).
  return html`<form method="post" action="${PATHS.signOut}"><button class="button" type="submit">${label}</button></form>`;
}

function who(identity: Identity): Html {
  if (!identity.authenticated) return html`<p>You are not signed in.</p>`;
  return html`<dl>
<dt>Signed in as</dt><dd>${identity.email ?? identity.sub}</dd>
${identity.name ? html`<dt>Name</dt><dd>${identity.name}</dd>` : html``}
<dt>Groups</dt><dd>${identity.groups.length > 0 ? identity.groups.join(', ') : 'none'}</dd>
</dl>`;
}

/** 403 for a signed-in user the policy denied: who they are, what, why, a request id. */
export function denyPage(options: {
  headers: Headers;
  identity: Identity;
  method: string;
  url: string;
  reasons: readonly string[];
  requestId: string;
  status?: number;
}): LocalReply {
  const status = options.status ?? 403;
  if (wantsJson(options.headers)) {
    return jsonReply(status, { error: 'forbidden', reasons: options.reasons, request_id: options.requestId });
  }
  const body = html`<section class="card" aria-labelledby="title">
<p class="status">${status} · Access denied</p>
<h1 id="title">You don't have access to this page</h1>
<p><code>${options.method} ${options.url}</code></p>
${who(options.identity)}
${options.reasons.length > 0 ? html`<h2>Why</h2><ul>${options.reasons.map((r) => html`<li>${r}</li>`)}</ul>` : html``}
<div class="actions">${options.identity.authenticated ? signOutForm('Sign in as someone else') : html``}<a href="/">Home</a></div>
</section>`;
  return htmlReply(status, page('Access denied', body, html`Request id <code>${options.requestId}</code>`));
}

/** What the user can do about an error, by code. */
function wayForward(code: string): { title: string; advice: string; retry: boolean } {
  if (code.startsWith('ERR_OIDC_TXN') || code === 'ERR_OIDC_STATE_MISMATCH' || code === 'ERR_OIDC_STATE_REPLAYED') {
    return { title: 'Your sign-in attempt expired', advice: 'Sign-in attempts are valid for a few minutes and only once. Start again.', retry: true };
  }
  if (code === 'ERR_OIDC_UNAVAILABLE' || code === 'ERR_JWKS_UNAVAILABLE') {
    return { title: 'The identity provider is unreachable', advice: 'Gatehouse could not reach the sign-in service. Try again in a moment.', retry: true };
  }
  if (code.startsWith('ERR_OIDC') || code.startsWith('ERR_HANDOFF')) {
    return { title: 'Sign-in did not complete', advice: 'The identity provider\'s answer could not be verified. Start again; if it keeps failing, contact your administrator with the request id.', retry: true };
  }
  if (code === 'ERR_SIGN_OUT_FORBIDDEN') {
    return { title: 'Sign-out must come from this site', advice: 'Use the sign-out button on this site.', retry: false };
  }
  return { title: 'Something went wrong', advice: 'Gatehouse could not complete this request. Try again; if it keeps failing, contact your administrator with the request id.', retry: false };
}

/** An error page (HTML or JSON) with a clear message and a way forward; never the detail. */
export function errorPage(options: { headers: Headers; error: GatehouseError; requestId: string; retryUrl?: string }): LocalReply {
  const { error } = options;
  const status = error.spec.http;
  if (wantsJson(options.headers)) {
    return jsonReply(status, { error: error.code, message: error.spec.message, request_id: options.requestId });
  }
  const help = wayForward(error.code);
  const body = html`<section class="card" aria-labelledby="title">
<p class="status bad">${status} · <code>${error.code}</code></p>
<h1 id="title">${help.title}</h1>
<p>${error.spec.message}</p>
<p>${help.advice}</p>
<div class="actions">${help.retry ? html`<a class="button" href="${options.retryUrl ?? PATHS.signIn}">Sign in again</a>` : html``}<a href="/">Home</a></div>
</section>`;
  return htmlReply(status, page(help.title, body, html`Request id <code>${options.requestId}</code>`), [['x-gatehouse-error', error.code]]);
}

/** After sign-out. */
export function signedOutPage(headers: Headers, extra: readonly (readonly [string, string])[] = []): LocalReply {
  if (wantsJson(headers)) return jsonReply(200, { signed_out: true }, extra);
  const body = html`<section class="card" aria-labelledby="title">
<h1 id="title">You are signed out</h1>
<p>Your Gatehouse session has ended on this site.</p>
<div class="actions"><a class="button" href="/">Sign in again</a></div>
</section>`;
  return htmlReply(200, page('Signed out', body), extra);
}

/** Who am I: identity, groups, session expiry. Never a token. */
export function whoamiPage(headers: Headers, identity: AuthenticatedIdentity, now: number): LocalReply {
  const expires = new Date(identity.expires_at * 1000).toISOString();
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
  const minutes = Math.max(0, Math.round((identity.expires_at - now) / 60));
  const body = html`<section class="card" aria-labelledby="title">
<h1 id="title">Who am I</h1>
<dl>
<dt>User</dt><dd>${identity.sub}</dd>
<dt>Email</dt><dd>${identity.email ?? '—'}${identity.email_verified ? ' (verified)' : ''}</dd>
<dt>Name</dt><dd>${identity.name ?? '—'}</dd>
<dt>Groups</dt><dd>${identity.groups.length > 0 ? identity.groups.join(', ') : 'none'}</dd>
<dt>Signed in with</dt><dd>${identity.method === 'session' ? 'session cookie' : 'bearer token'}</dd>
<dt>Session expires</dt><dd><time datetime="${expires}">${expires}</time> (in ${minutes} min)</dd>
</dl>
<div class="actions">${identity.method === 'session' ? signOutForm() : html``}</div>
</section>`;
  return htmlReply(200, page('Who am I', body));
}
