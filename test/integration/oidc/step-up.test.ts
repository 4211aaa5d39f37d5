/**
 * Step-up against the real oidc-provider (issue 15), without a browser: startSignIn with a
 * step-up → the IdP's login → completeSignIn. The hostile cases are the IdP (or anyone between
 * it and the browser) not doing what was asked: each must be refused at the callback.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type LoginOutcome, type RunningIdp, startIdp } from '../../../demo/idp/start.js';
import { GatehouseError } from '../../../src/errors/gatehouse-error.js';
import { completeSignIn } from '../../../src/oidc/callback.js';
import { createOidcClient, type OidcClient } from '../../../src/oidc/client.js';
import { createReplayCache } from '../../../src/oidc/replay-cache.js';
import { startSignIn } from '../../../src/oidc/sign-in.js';
import type { StepUpTarget } from '../../../src/oidc/internal/transaction.js';
import {
  browseToCallback,
  TEST_CLIENT_ID,
  TEST_CLIENT_SECRET,
  TEST_REDIRECT_URI,
} from '../../support/idp.js';

const MFA = 'urn:gatehouse:mfa';
const PWD = 'urn:gatehouse:pwd';

describe('step-up with oidc-provider', () => {
  let idp: RunningIdp;
  let client: OidcClient;
  const txnKey = new Uint8Array(randomBytes(32));
  /** What the next login records (the test decides what the IdP "performed"). */
  let outcome: LoginOutcome = {};

  before(async () => {
    idp = await startIdp({
      clients: [
        {
          client_id: TEST_CLIENT_ID,
          client_secret: TEST_CLIENT_SECRET,
          redirect_uris: [TEST_REDIRECT_URI],
        },
      ],
      acrValues: [PWD, MFA],
      authenticate: () => outcome,
    });
    client = createOidcClient({
      issuer: idp.url,
      clientId: TEST_CLIENT_ID,
      clientSecret: TEST_CLIENT_SECRET,
      allowInsecureIssuer: true,
      timeoutMs: 5000,
    });
  });
  after(async () => {
    client.close();
    await idp.stop();
  });

  /** One step-up sign-in as `username`; `tamper` edits the authorization URL first. */
  async function stepUp(stepUpTarget: StepUpTarget, username: string, tamper?: (url: URL) => void) {
    const { location, txnCookie } = await startSignIn({
      client,
      redirectUri: TEST_REDIRECT_URI,
      returnTo: '/admin?x=1',
      txnKey,
      stepUp: stepUpTarget,
    });
    const url = new URL(location);
    tamper?.(url);
    const callback = await browseToCallback({
      authorizationUrl: url.href,
      redirectUri: TEST_REDIRECT_URI,
      username,
      password: username,
    });
    return completeSignIn({
      client,
      currentUrl: callback,
      txnCookieValue: txnCookie.value,
      txnKey,
      redirectUri: TEST_REDIRECT_URI,
      replayCache: createReplayCache(),
    });
  }

  const refused = (code: string) => (err: unknown) =>
    err instanceof GatehouseError && err.code === code;

  test('max_age and acr_values satisfied: auth_time and acr in the new ID token, same return URL', async () => {
    outcome = { acr: MFA, amr: ['pwd', 'otp'] };
    const result = await stepUp({ maxAge: 300, acrValues: [MFA], sub: 'alice' }, 'alice');
    assert.equal(result.claims.sub, 'alice');
    assert.equal(result.claims['acr'], MFA);
    // (oidc-provider puts `amr` in the ID token only when the claims parameter asks for it.)
    assert.ok(typeof result.claims.auth_time === 'number');
    assert.equal(result.returnTo, '/admin?x=1');
  });

  test('hostile: an ID token without auth_time after max_age was sent is refused', async () => {
    // max_age dropped on the way to the IdP: it answers without auth_time (the client does not
    // require it), and the callback must not take that as fresh.
    outcome = {};
    await assert.rejects(
      stepUp({ maxAge: 300, sub: 'alice' }, 'alice', (url) => url.searchParams.delete('max_age')),
      refused('ERR_STEP_UP_NOT_SATISFIED'),
    );
  });

  test('hostile: an ID token with an old auth_time is refused', async () => {
    outcome = { ts: Math.floor(Date.now() / 1000) - 3600 };
    await assert.rejects(
      stepUp({ maxAge: 300, sub: 'alice' }, 'alice'),
      refused('ERR_STEP_UP_NOT_SATISFIED'),
    );
  });

  test('hostile: an ID token whose acr is not among those requested is refused', async () => {
    outcome = { acr: PWD };
    await assert.rejects(
      stepUp({ acrValues: [MFA], sub: 'alice' }, 'alice'),
      refused('ERR_STEP_UP_NOT_SATISFIED'),
    );
  });

  test('hostile: a step-up callback cannot swap to another user (sub must stay the same)', async () => {
    outcome = { acr: MFA };
    await assert.rejects(
      stepUp({ acrValues: [MFA], sub: 'alice' }, 'bob'),
      refused('ERR_STEP_UP_USER_CHANGED'),
    );
  });
});
