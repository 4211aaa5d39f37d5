import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { ERRORS } from '../../../src/errors/codes.js';
import { GatehouseError } from '../../../src/errors/gatehouse-error.js';
import { escapeHtml, html, STYLE } from '../../../src/pages/html.js';
import {
  denyPage,
  errorHelp,
  errorPage,
  PATHS,
  signOutConfirmPage,
  whoamiPage,
} from '../../../src/pages/pages.js';
import {
  CONTENT_SECURITY_POLICY,
  jsonReply,
  wantsJson,
  type LocalReply,
} from '../../../src/pages/reply.js';
import {
  ALICE,
  ALL_CODES,
  API,
  BEARER,
  BROWSER,
  ERROR_VARIANTS,
  HOSTILE_REASONS,
  HOSTILE_SAMPLES,
  MALLORY,
  NOW,
  REQUEST_ID,
  SAMPLES,
  SECRET_TOKEN,
  header,
} from './samples.js';

/** Every element a page may use: no script, link, img, iframe, object, base… */
const TAGS = new Set([
  'html',
  'head',
  'meta',
  'title',
  'style',
  'body',
  'header',
  'div',
  'svg',
  'path',
  'span',
  'main',
  'section',
  'p',
  'h1',
  'h2',
  'ul',
  'li',
  'dl',
  'dt',
  'dd',
  'code',
  'strong',
  'time',
  'a',
  'form',
  'button',
  'footer',
]);

const count = (text: string, re: RegExp) => [...text.matchAll(re)].length;

/** The structural checks every HTML page must pass. */
function assertWellFormedPage(reply: LocalReply, name: string): void {
  const body = reply.body;
  assert.match(header(reply, 'content-type') ?? '', /^text\/html; charset=utf-8$/, name);
  assert.ok(body.startsWith('<!doctype html>\n<html lang="en">'), `${name}: doctype and lang`);
  assert.match(body, /<meta charset="utf-8">/, name);
  assert.match(
    body,
    /<meta name="viewport" content="width=device-width, initial-scale=1">/,
    `${name}: readable on a phone`,
  );
  assert.match(body, /<title>[^<]+ · Gatehouse<\/title>/, `${name}: a title`);
  for (const landmark of ['header', 'main', 'footer'])
    assert.equal(
      count(body, new RegExp(`<${landmark}[\\s>]`, 'g')),
      1,
      `${name}: one <${landmark}>`,
    );
  assert.equal(count(body, /<h1[\s>]/g), 1, `${name}: exactly one h1`);
  const levels = [...body.matchAll(/<h([1-6])[\s>]/g)].map((m) => Number(m[1]));
  assert.equal(levels[0], 1, `${name}: the h1 comes first`);
  levels.forEach((level, i) => {
    assert.ok(
      i === 0 || level <= levels[i - 1]! + 1,
      `${name}: heading levels do not skip (${levels.join(',')})`,
    );
  });
  assert.doesNotMatch(body, /<script/i, `${name}: no scripts`);
  for (const [tag, tagName] of body.matchAll(/<([a-zA-Z][a-zA-Z0-9]*)\b[^>]*>/g)) {
    assert.ok(TAGS.has(tagName!.toLowerCase()), `${name}: unexpected element ${tag}`);
    assert.doesNotMatch(tag, /\son[a-z]+\s*=/i, `${name}: no event handler attributes: ${tag}`);
    assert.doesNotMatch(
      tag,
      /\sstyle\s*=/i,
      `${name}: no style attributes (the CSP would block them): ${tag}`,
    );
  }
  for (const [, attr, value] of body.matchAll(/\s(src|href|action)="([^"]*)"/g)) {
    assert.match(
      value!,
      /^\/(?!\/)/,
      `${name}: ${attr}="${value}" is one of the page's own links, not an external URL`,
    );
  }
  // Forms: POST to sign-out only, and every control has an accessible name.
  for (const [form] of body.matchAll(/<form[^>]*>.*?<\/form>/gs)) {
    assert.match(
      form,
      new RegExp(`^<form method="post" action="${PATHS.signOut}">`),
      `${name}: forms POST to sign-out`,
    );
    for (const [, label] of form.matchAll(/<button[^>]*>([^<]*)<\/button>/g))
      assert.ok(label!.trim() !== '', `${name}: button has a name`);
    assert.doesNotMatch(form, /<(input|select|textarea)[\s>]/, `${name}: no unlabeled fields`);
  }
  assert.match(body, /class="actions"/, `${name}: a way forward`);
}

function assertPageHeaders(reply: LocalReply, name: string): void {
  assert.equal(header(reply, 'cache-control'), 'no-store', name);
  assert.equal(header(reply, 'x-content-type-options'), 'nosniff', name);
  assert.equal(header(reply, 'referrer-policy'), 'no-referrer', name);
  const csp = header(reply, 'content-security-policy') ?? '';
  assert.match(csp, /default-src 'none'/, name);
  assert.match(csp, /frame-ancestors 'none'/, name);
  assert.doesNotMatch(
    csp,
    /unsafe-inline|unsafe-eval|script-src/,
    `${name}: no inline scripts or styles allowed by the CSP`,
  );
}

describe('every page', () => {
  for (const sample of SAMPLES) {
    test(`${sample.name}: well-formed, accessible HTML with the page headers`, () => {
      const reply = sample.render(BROWSER);
      assertWellFormedPage(reply, sample.name);
      assertPageHeaders(reply, sample.name);
    });

    test(`${sample.name}: JSON when the client asks for JSON, with no HTML and no token`, () => {
      const reply = sample.render(API);
      assert.equal(header(reply, 'content-type'), 'application/json', sample.name);
      assertPageHeaders(reply, sample.name);
      assert.doesNotMatch(reply.body, /[<>]/, `${sample.name}: no markup`);
      assert.equal(typeof JSON.parse(reply.body), 'object');
      assert.equal(
        reply.status,
        sample.render(BROWSER).status,
        `${sample.name}: same status as the page`,
      );
    });

    test(`${sample.name}: never a token or an error's detail`, () => {
      for (const reply of [sample.render(BROWSER), sample.render(API)]) {
        assert.equal(reply.body.includes(SECRET_TOKEN), false, sample.name);
        assert.equal(reply.body.includes('refresh-secret-value'), false, sample.name);
        assert.doesNotMatch(
          reply.body,
          /eyJ[A-Za-z0-9_-]{10,}/,
          `${sample.name}: nothing JWT-shaped`,
        );
        assert.doesNotMatch(reply.body, /upstream said/, `${sample.name}: no cause detail`);
      }
    });
  }

  test('the stylesheet is allowed by hash: the CSP names the SHA-256 of exactly the inline <style>', () => {
    const reply = SAMPLES[0]!.render(BROWSER);
    const inline = /<style>(.*?)<\/style>/s.exec(reply.body)?.[1];
    assert.equal(inline, STYLE);
    const hash = createHash('sha256').update(inline, 'utf8').digest('base64');
    assert.equal(header(reply, 'content-security-policy'), CONTENT_SECURITY_POLICY);
    assert.match(
      CONTENT_SECURITY_POLICY,
      new RegExp(`style-src 'sha256-${hash.replace(/[+/]/g, '\\$&')}'`),
    );
  });

  test('each page has its own title and h1', () => {
    const titles = SAMPLES.map((s) => /<h1[^>]*>(.*?)<\/h1>/s.exec(s.render(BROWSER).body)?.[1]);
    assert.equal(new Set(titles).size, titles.length, titles.join(' | '));
  });
});

describe('hostile input is escaped', () => {
  for (const sample of HOSTILE_SAMPLES) {
    test(`${sample.name}: renders as text, never as markup`, () => {
      const reply = sample.render(BROWSER);
      assertWellFormedPage(reply, sample.name);
      assert.doesNotMatch(reply.body, /<script|<img|<b>/i);
      assert.match(reply.body, /&#60;script&#62;/, 'the script tag is shown as text');
    });

    test(`${sample.name}: JSON keeps the values as data, with no raw angle brackets`, () => {
      const reply = sample.render(API);
      assert.doesNotMatch(reply.body, /[<>]/);
      assert.equal(typeof JSON.parse(reply.body), 'object');
    });
  }

  test('quotes cannot break out of an attribute', () => {
    const out = html`<a href="${`/x" onclick="alert(1)`}" title='${`' onfocus='x`}'>t</a>`.value;
    assert.equal(
      out,
      '<a href="/x&#34; onclick=&#34;alert(1)" title=\'&#39; onfocus=&#39;x\'>t</a>',
    );
    assert.equal(escapeHtml(`&<>"'`), '&#38;&#60;&#62;&#34;&#39;');
  });

  test('the deny reasons, email, name and groups appear escaped, in full', () => {
    const body = denyPage({
      headers: BROWSER,
      identity: MALLORY,
      method: 'GET',
      url: 'https://a.test/',
      reasons: HOSTILE_REASONS,
      requestId: REQUEST_ID,
    }).body;
    for (const value of [...HOSTILE_REASONS, MALLORY.email!, MALLORY.name!, ...MALLORY.groups])
      assert.ok(body.includes(escapeHtml(value)), value);
  });

  test('JSON reasons survive intact (escaping is only how they are written)', () => {
    const reply = denyPage({
      headers: API,
      identity: MALLORY,
      method: 'GET',
      url: 'https://a.test/',
      reasons: HOSTILE_REASONS,
      requestId: REQUEST_ID,
    });
    assert.deepEqual(JSON.parse(reply.body), {
      error: 'forbidden',
      message: 'The access rules do not allow this request.',
      reasons: HOSTILE_REASONS,
      request_id: REQUEST_ID,
    });
    assert.equal(jsonReply(200, { a: '<&>' }).body, '{"a":"\\u003c\\u0026\\u003e"}\n');
  });
});

describe('deny page', () => {
  const deny = (
    identity = ALICE,
    headers: Record<string, string> = BROWSER,
    reasons: readonly string[] = ['not in group vault-readers'],
  ) =>
    denyPage({
      headers,
      identity,
      method: 'DELETE',
      url: 'https://app.example.com/vault',
      reasons,
      requestId: REQUEST_ID,
    });

  test('403: who you are, what was denied, why, the request id, and a sign-out control', () => {
    const reply = deny();
    assert.equal(reply.status, 403);
    assert.match(reply.body, /alice@example\.com/);
    assert.match(reply.body, /<dt>Groups<\/dt><dd>admins, staff<\/dd>/);
    assert.match(reply.body, /DELETE https:\/\/app\.example\.com\/vault/);
    assert.match(reply.body, /<li>not in group vault-readers<\/li>/);
    assert.match(reply.body, new RegExp(REQUEST_ID));
    assert.match(
      reply.body,
      /<form method="post" action="\/\.gatehouse\/sign_out"><button[^>]*>Sign out<\/button><\/form>/,
    );
  });

  test('the main button never leads back to the page just denied: home elsewhere, who-am-I when the home page was denied', () => {
    assert.match(
      deny().body,
      /<div class="actions"><a class="button" href="\/">Go to the home page<\/a>/,
    );
    for (const url of ['https://app.example.com/', 'https://app.example.com']) {
      const body = denyPage({
        headers: BROWSER,
        identity: ALICE,
        method: 'GET',
        url,
        reasons: [],
        requestId: REQUEST_ID,
      }).body;
      assert.doesNotMatch(body, /href="\/"/, url);
      assert.match(
        body,
        /<div class="actions"><a class="button" href="\/\.gatehouse\/">See who you are signed in as<\/a>/,
        url,
      );
    }
  });

  test('no reasons: says so rather than showing an empty list', () => {
    const body = deny(ALICE, BROWSER, []).body;
    assert.match(body, /gave no reason/);
    assert.doesNotMatch(body, /<ul><\/ul>/);
  });

  test('a bearer caller has no session to sign out of: no sign-out form', () => {
    assert.doesNotMatch(deny(BEARER).body, /<form/);
  });

  test('JSON: error, message, reasons and request id only', () => {
    const reply = deny(ALICE, API);
    assert.equal(reply.status, 403);
    assert.deepEqual(JSON.parse(reply.body), {
      error: 'forbidden',
      message: 'The access rules do not allow this request.',
      reasons: ['not in group vault-readers'],
      request_id: REQUEST_ID,
    });
  });

  test('a policy-chosen status is kept', () => {
    assert.equal(
      denyPage({
        headers: BROWSER,
        identity: ALICE,
        method: 'GET',
        url: 'https://a.test/',
        reasons: [],
        requestId: 'r',
        status: 451,
      }).status,
      451,
    );
  });
});

describe('error pages', () => {
  for (const { code } of ERROR_VARIANTS) {
    test(`${code}: its HTTP status, the code in x-gatehouse-error and on the page, the request id, a way forward`, () => {
      const reply = errorPage({
        headers: BROWSER,
        error: new GatehouseError(code),
        requestId: REQUEST_ID,
        retryUrl: PATHS.signIn,
      });
      assert.equal(reply.status, ERRORS[code].http);
      assert.equal(header(reply, 'x-gatehouse-error'), code);
      assert.match(reply.body, new RegExp(`<code>${code}</code>`));
      assert.match(reply.body, new RegExp(REQUEST_ID));
      assert.match(
        reply.body,
        /<div class="actions">(<a class="button" href="[^"]+">[^<]+<\/a>|<form method="post")/,
        'a primary action',
      );
    });
  }

  test('the variants the brief names each say something different', () => {
    const titles = [
      'ERR_OIDC_UNAVAILABLE',
      'ERR_OIDC_STATE_MISMATCH',
      'ERR_OIDC_ID_TOKEN_INVALID',
      'ERR_OIDC_TXN_EXPIRED',
    ].map((c) => errorHelp(c as 'ERR_INTERNAL').title);
    assert.equal(new Set(titles).size, 4, titles.join(' | '));
  });

  test('sign-in problems lead back to sign-in; the unreachable IdP says it is temporary', () => {
    for (const code of [
      'ERR_OIDC_UNAVAILABLE',
      'ERR_OIDC_STATE_MISMATCH',
      'ERR_OIDC_ID_TOKEN_INVALID',
      'ERR_OIDC_TXN_EXPIRED',
      'ERR_OIDC_TXN_MISSING',
    ] as const) {
      const body = errorPage({
        headers: BROWSER,
        error: new GatehouseError(code),
        requestId: REQUEST_ID,
      }).body;
      assert.match(
        body,
        /<a class="button" href="\/\.gatehouse\/sign_in">(Sign in again|Try again)<\/a>/,
        code,
      );
    }
    assert.match(
      errorPage({
        headers: BROWSER,
        error: new GatehouseError('ERR_OIDC_UNAVAILABLE'),
        requestId: 'r',
      }).body,
      /usually temporary/,
    );
  });

  test('a forbidden sign-out offers the same-origin sign-out form', () => {
    const body = errorPage({
      headers: BROWSER,
      error: new GatehouseError('ERR_SIGN_OUT_FORBIDDEN'),
      requestId: 'r',
    }).body;
    assert.match(body, /<form method="post" action="\/\.gatehouse\/sign_out">/);
  });

  test('every error code renders a complete page with a way forward', () => {
    for (const code of ALL_CODES) {
      const reply = errorPage({
        headers: BROWSER,
        error: new GatehouseError(code),
        requestId: REQUEST_ID,
      });
      assertWellFormedPage(reply, code);
      assert.match(reply.body, new RegExp(`<code>${code}</code>`), code);
    }
  });

  test('page text is plain: no protocol jargon outside the error code', () => {
    const jargon =
      /\b(OIDC|OAuth|nonce|JWT|JWKS|ID token|token exchange|state parameter|transaction|issuer|callback|PKCE|hand-?off)\b/i;
    for (const code of ALL_CODES) {
      const help = errorHelp(code);
      for (const text of [help.eyebrow, help.title, help.explain, help.next])
        assert.doesNotMatch(text, jargon, `${code}: "${text}"`);
    }
  });

  test('JSON: code, the fixed message and the request id; never the cause', () => {
    const error = new GatehouseError('ERR_OIDC_ID_TOKEN_INVALID', {
      cause: new Error(`signature ${SECRET_TOKEN}`),
    });
    const reply = errorPage({ headers: API, error, requestId: REQUEST_ID });
    assert.equal(reply.status, 401);
    assert.equal(header(reply, 'x-gatehouse-error'), 'ERR_OIDC_ID_TOKEN_INVALID');
    assert.deepEqual(JSON.parse(reply.body), {
      error: 'ERR_OIDC_ID_TOKEN_INVALID',
      message: ERRORS.ERR_OIDC_ID_TOKEN_INVALID.message,
      reasons: [],
      request_id: REQUEST_ID,
    });
  });
});

describe('who am I', () => {
  test('identity, groups and expiry in words, with a sign-out control', () => {
    const body = whoamiPage(BROWSER, ALICE, NOW).body;
    assert.match(body, /Alice Liddell/);
    assert.match(body, /alice@example\.com <span class="hint">\(verified\)<\/span>/);
    assert.match(body, /<dt>Groups<\/dt><dd>admins, staff<\/dd>/);
    assert.match(
      body,
      /<time datetime="2025-01-01T12:50:00\.000Z">1 Jan 2025, 12:50 UTC<\/time> <span class="hint nowrap">\(in 50 minutes\)<\/span>/,
    );
    assert.match(body, /<form method="post" action="\/\.gatehouse\/sign_out">/);
  });

  test('expiry wording: hours, a single minute, expired', () => {
    const at = (seconds: number) =>
      whoamiPage(BROWSER, { ...ALICE, expires_at: NOW + seconds }, NOW).body;
    assert.match(at(2 * 3600 + 300), /in 2 hours 5 min/);
    assert.match(at(3600), /in 1 hour\)/);
    assert.match(at(30), /in 1 minute\)/);
    assert.match(at(-5), /\(expired\)/);
  });

  test('a bearer caller: no sign-out form, says token', () => {
    const body = whoamiPage(BROWSER, BEARER, NOW).body;
    assert.doesNotMatch(body, /<form/);
    assert.match(body, /Token expires/);
  });

  test('missing email and name, no groups', () => {
    const body = whoamiPage(BROWSER, { ...ALICE, email: null, name: null, groups: [] }, NOW).body;
    assert.match(body, /<dt>Email<\/dt><dd>Not provided<\/dd>/);
    assert.doesNotMatch(body, /<dt>Name<\/dt>/);
    assert.match(body, /<dt>Groups<\/dt><dd>None<\/dd>/);
  });

  test('JSON: the identity without claims (which may hold anything) and without tokens', () => {
    const value = JSON.parse(whoamiPage(API, ALICE, NOW).body) as Record<string, unknown>;
    assert.deepEqual(Object.keys(value).sort(), [
      'authenticated',
      'email',
      'email_verified',
      'expires_at',
      'groups',
      'issued_at',
      'method',
      'name',
      'session_id',
      'sub',
    ]);
  });
});

describe('sign-out confirmation', () => {
  test('a POST form to /.gatehouse/sign_out, the host and who is signed in', () => {
    const reply = signOutConfirmPage({
      headers: BROWSER,
      host: 'app.example.com',
      signedIn: true,
      email: 'alice@example.com',
    });
    assert.equal(reply.status, 200);
    assert.match(reply.body, /<h1 id="title">Sign out of app\.example\.com\?<\/h1>/);
    assert.match(reply.body, /alice@example\.com/);
    assert.match(reply.body, /<form method="post" action="\/\.gatehouse\/sign_out">/);
  });

  test('not signed in: still offers the form, and says so', () => {
    const body = signOutConfirmPage({
      headers: BROWSER,
      host: 'app.example.com',
      signedIn: false,
    }).body;
    assert.match(body, /don't seem to be signed in/);
    assert.match(body, /<form method="post"/);
  });

  test('JSON: how to sign out', () => {
    const reply = signOutConfirmPage({
      headers: API,
      host: 'app.example.com',
      signedIn: true,
      email: 'alice@example.com',
    });
    assert.deepEqual(JSON.parse(reply.body), {
      signed_in: true,
      sign_out: { method: 'POST', path: PATHS.signOut },
    });
  });
});

describe('HTML or JSON', () => {
  test('a browser navigation gets HTML; API clients, */* and no Accept get JSON', () => {
    assert.equal(wantsJson(BROWSER), false);
    assert.equal(wantsJson({ accept: 'text/html' }), false);
    assert.equal(wantsJson(API), true);
    assert.equal(wantsJson({ accept: '*/*' }), true);
    assert.equal(wantsJson({}), true);
    assert.equal(wantsJson({ accept: 'application/json, text/html;q=0.9' }), true);
  });
});
