/**
 * Shared pieces of the device route tests (mount.test.ts, whoami.test.ts): a request as the
 * Check path sees it, a signed-in session caller, a reply's JSON, and enrollment of a software
 * authenticator through the route.
 */
import assert from 'node:assert/strict';
import { DEVICE_PATHS } from '../../../src/device/webauthn/paths.js';
import type { Caller } from '../../../src/identity/caller.js';
import { identityFromSession } from '../../../src/identity/from-session.js';
import type { SessionBook } from '../../../src/identity/session/book.js';
import type { RequestView } from '../../../src/input/request-view.js';
import type { LocalReply } from '../../../src/pages/reply.js';
import type { authenticator } from '../../unit/device/support.js';
import { ALICE } from '../../unit/identity/session/support.js';

export const HOST = 'app.example.com';

/** What a page's script sends: same origin, JSON both ways. */
export const SAME_ORIGIN: Readonly<Record<string, string>> = {
  'sec-fetch-site': 'same-origin',
  'content-type': 'application/json',
  accept: 'application/json',
};

/** A GET (no body) or a JSON POST to `pathname` on {@link HOST}. */
export function deviceRequest(
  pathname: string,
  body: unknown,
  headers: Readonly<Record<string, string>>,
): RequestView {
  return {
    method: body === undefined ? 'GET' : 'POST',
    host: HOST,
    scheme: 'https',
    path: pathname,
    pathname,
    headers,
    requestId: 'req-1',
    body: Buffer.from(body === undefined ? '' : JSON.stringify(body)),
  };
}

/** A session issued by `book` for `sub` on {@link HOST}, as the Check path's caller, and its cookie. */
export async function sessionCaller(
  book: SessionBook,
  sub: string = ALICE.sub,
): Promise<{ cookie: string; caller: Caller }> {
  const issued = await book.issue({ ...ALICE, sub, host: HOST });
  const session = await book.verify(issued.cookieValue);
  return {
    cookie: issued.cookieValue,
    caller: {
      kind: 'session',
      identity: identityFromSession(session),
      session,
      credential: undefined,
    },
  };
}

/** The reply's body parsed when it is JSON, else `{}`. */
export function replyJson(reply: LocalReply): Record<string, unknown> {
  const type = reply.headers.find(([k]) => k === 'content-type')?.[1] ?? '';
  if (!type.includes('json')) return {};
  const text = typeof reply.body === 'string' ? reply.body : String(reply.body);
  return JSON.parse(text) as Record<string, unknown>;
}

/** A route call as the tests make it. */
export type DeviceCall = (
  caller: Caller,
  pathname: string,
  body?: unknown,
  headers?: Readonly<Record<string, string>>,
) => Promise<{ reply: LocalReply; json: Record<string, unknown> }>;

/** Enroll `a` for `caller` through the route: registration options, then the registration. */
export async function enrollThrough(
  call: DeviceCall,
  caller: Caller,
  a: ReturnType<typeof authenticator>,
): Promise<{ id: string; approval: string }> {
  const options = await call(caller, DEVICE_PATHS.registerOptions, {});
  assert.equal(options.reply.status, 200);
  const done = await call(
    caller,
    DEVICE_PATHS.register,
    a.register(String(options.json['challenge']), { counter: 1 }),
  );
  assert.equal(done.reply.status, 200, JSON.stringify(done.json));
  return done.json['device'] as { id: string; approval: string };
}
