/**
 * Step-up through the central sign-in host (issue 15), against the real demo IdP: the protected
 * host's step-up travels in the signed hand-off request, the central host asks the IdP for
 * `max_age` and checks the new ID token, and the protected host checks the handed-off claims
 * against its own transaction before it issues a session. The named attacks show the protected
 * host never relies on the central host having asked.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { completeSignIn } from '../../../src/oidc/callback.js';
import {
  acceptHandoffRequest,
  completeHandoff,
  HANDOFF_REQUEST_PARAM,
  HANDOFF_TOKEN_PARAM,
  issueHandoff,
  startHandoff,
} from '../../../src/oidc/handoff.js';
import type { StepUpTarget } from '../../../src/oidc/internal/transaction.js';
import { createReplayCache } from '../../../src/oidc/replay-cache.js';
import { startSignIn } from '../../../src/oidc/sign-in.js';
import { browseToCallback, startTestIdp, type TestIdp } from '../../support/idp.js';
import { rejectsWithCode, ringOf } from '../../unit/keys/support.js';

const CENTRAL = 'login.example.test';
const CENTRAL_SIGN_IN = `https://${CENTRAL}/.gatehouse/sign_in`;
const CENTRAL_CALLBACK = `https://${CENTRAL}/.gatehouse/callback`;
const APP = 'app.example.test';
const ALLOWED = ['*.example.test'];

const key = (): Uint8Array => new Uint8Array(randomBytes(32));
const ring = await ringOf('p256.pem');

describe('step-up through the central sign-in host', () => {
  let t: TestIdp;
  const handoffKey = key();
  const appTxnKey = key();
  const centralTxnKey = key();

  before(async () => {
    t = await startTestIdp([CENTRAL_CALLBACK]);
  });
  after(async () => {
    await t.stop();
  });

  /**
   * The whole journey. `central` replaces the step-up the central host passes to the IdP (a
   * central host that dropped or changed it); by default it uses the one from the request.
   */
  async function journey(
    stepUp: StepUpTarget,
    options: { readonly central?: StepUpTarget | null; readonly username?: string } = {},
  ) {
    const start = await startHandoff({
      centralSignInUrl: CENTRAL_SIGN_IN,
      host: APP,
      returnTo: '/admin',
      txnKey: appTxnKey,
      ring,
      stepUp,
    });
    const request = new URL(start.location).searchParams.get(HANDOFF_REQUEST_PARAM) ?? undefined;
    const accepted = await acceptHandoffRequest({
      request,
      ring,
      centralHost: CENTRAL,
      allowedHosts: ALLOWED,
    });
    const centralStepUp = options.central === undefined ? accepted.stepUp : options.central;
    const signIn = await startSignIn({
      client: t.client,
      redirectUri: CENTRAL_CALLBACK,
      returnTo: '/',
      txnKey: centralTxnKey,
      handoff: accepted.target,
      ...(centralStepUp === null || centralStepUp === undefined ? {} : { stepUp: centralStepUp }),
    });
    const username = options.username ?? 'alice';
    const callback = await browseToCallback({
      authorizationUrl: signIn.location,
      redirectUri: CENTRAL_CALLBACK,
      username,
      password: username,
    });
    const result = await completeSignIn({
      client: t.client,
      currentUrl: callback,
      txnCookieValue: signIn.txnCookie.value,
      txnKey: centralTxnKey,
      redirectUri: CENTRAL_CALLBACK,
      replayCache: createReplayCache(),
    });
    assert.ok(result.handoff);
    const { location } = await issueHandoff({
      target: result.handoff,
      claims: result.claims,
      tokens: result.tokens,
      ring,
      handoffKey,
      centralHost: CENTRAL,
    });
    const done = completeHandoff({
      token: new URL(location).searchParams.get(HANDOFF_TOKEN_PARAM) ?? undefined,
      txnCookieValue: start.txnCookie.value,
      txnKey: appTxnKey,
      handoffKey,
      ring,
      host: APP,
      centralHost: CENTRAL,
      replayCache: createReplayCache(),
    });
    return { accepted, authorizationUrl: new URL(signIn.location), done };
  }

  test('the step-up reaches the IdP through the central host, and the hand-off back carries the fresh auth_time', async () => {
    const before = Math.floor(Date.now() / 1000);
    const { accepted, authorizationUrl, done } = await journey({ maxAge: 300, sub: 'alice' });
    assert.deepEqual(accepted.stepUp, { maxAge: 300, sub: 'alice' }, 'carried in the request');
    assert.equal(authorizationUrl.searchParams.get('max_age'), '300', 'asked of the IdP');
    const { claims, returnTo } = await done;
    assert.equal(claims.sub, 'alice');
    assert.equal(typeof claims['auth_time'], 'number');
    assert.ok((claims['auth_time'] as number) >= before - 5, 'a fresh authentication');
    assert.equal(returnTo, '/admin');
  });

  test('attack: a central host that dropped the step-up hands off claims the protected host refuses (ERR_STEP_UP_NOT_SATISFIED)', async () => {
    // The IdP is asked for nothing; the protected host asked for an acr it never gets.
    const { done } = await journey({ acrValues: ['urn:gatehouse:mfa'] }, { central: null });
    await rejectsWithCode(done, 'ERR_STEP_UP_NOT_SATISFIED');
  });

  test('attack: a step-up completed by another user is refused at the protected host (ERR_STEP_UP_USER_CHANGED)', async () => {
    const { done } = await journey(
      { maxAge: 300, sub: 'alice' },
      { central: { maxAge: 300 }, username: 'bob' },
    );
    await rejectsWithCode(done, 'ERR_STEP_UP_USER_CHANGED');
  });

  test('attack: the central host checks the step-up itself too: another user is refused at its callback', async () => {
    await rejectsWithCode(
      journey({ maxAge: 300, sub: 'alice' }, { username: 'bob' }),
      'ERR_STEP_UP_USER_CHANGED',
    );
  });
});
