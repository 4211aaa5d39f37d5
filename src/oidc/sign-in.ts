/**
 * Start of the sign-in flow: the authorization URL (code flow, PKCE S256, `state`, `nonce`) and
 * the transaction cookie that binds the browser to it.
 */
import * as oidc from 'openid-client';
import { GatehouseError } from '../errors/gatehouse-error.js';
import type { OidcClient } from './client.js';
import { safeReturnPath } from './return-url.js';
import { assertKey } from './internal/keys.js';
import {
  sealTransaction,
  type HandoffTarget,
  type StepUpTarget,
  type TxnCookie,
} from './internal/transaction.js';

export {
  TXN_COOKIE_NAME,
  txnClearCookie,
  txnSetCookie,
  type HandoffTarget,
  type StepUpTarget,
  type TxnCookie,
} from './internal/transaction.js';

/** Default lifetime of a sign-in transaction: 10 minutes. */
export const DEFAULT_TXN_TTL_SECONDS = 600;

/** Options for {@link startSignIn}. */
export interface StartSignInOptions {
  readonly client: OidcClient;
  /** This host's callback, `https://<host>/.gatehouse/callback` (registered at the IdP). */
  readonly redirectUri: string | URL;
  /** Where to go after sign-in; anything but a safe same-origin path becomes `/`. */
  readonly returnTo: string | undefined;
  /** 32-byte key encrypting the transaction cookie. */
  readonly txnKey: Uint8Array;
  /** Default: the current time. */
  readonly now?: Date;
  /** Default {@link DEFAULT_TXN_TTL_SECONDS}. */
  readonly ttlSeconds?: number;
  /**
   * Extra authorization parameters, e.g. Google's `{ access_type: 'offline', prompt: 'consent' }`.
   * The protocol parameters (response_type, client_id, redirect_uri, scope, state, nonce,
   * code_challenge, code_challenge_method) cannot be overridden.
   */
  readonly extraParams?: Readonly<Record<string, string>>;
  /** Central sign-in host only: hand the identity off to this protected host after the callback. */
  readonly handoff?: HandoffTarget;
  /**
   * A step-up: send `max_age` and/or `acr_values` (with `prompt=login`, see
   * {@link stepUpParams}); the callback checks the new ID token against them.
   */
  readonly stepUp?: StepUpTarget;
}

/** The extra parameters plus a step-up's; a configured `prompt` is kept beside `login`. */
function withStepUp(
  extra: Readonly<Record<string, string>>,
  stepUp: StepUpTarget | undefined,
): Record<string, string> {
  if (stepUp === undefined) return { ...extra };
  const params = stepUpParams(stepUp);
  const configured = extra['prompt'];
  const prompt = params['prompt'];
  if (prompt !== undefined && configured !== undefined) {
    const values = new Set([prompt, ...configured.split(' ').filter((v) => v !== '')]);
    params['prompt'] = [...values].join(' ');
  }
  return { ...extra, ...params };
}

/** Result of {@link startSignIn}. */
export interface SignInStart {
  /** The IdP's authorization URL: answer with a 302 to it. */
  readonly location: string;
  /** Set it with {@link txnSetCookie}. */
  readonly txnCookie: TxnCookie;
}

const PROTOCOL_PARAMS = new Set([
  'response_type',
  'client_id',
  'redirect_uri',
  'scope',
  'state',
  'nonce',
  'code_challenge',
  'code_challenge_method',
  'response_mode',
  'request',
  'request_uri',
  'max_age',
  'acr_values',
]);

/**
 * The authorization parameters of a step-up (OIDC Core §3.1.2.1): `max_age` and `acr_values`
 * as asked, and `prompt=login` whenever `max_age` is 0 (its meaning in the spec) or an `acr` is
 * asked for: `acr_values` is only a voluntary request, and an IdP would otherwise answer from
 * its existing session with the `acr` that session already has.
 */
export function stepUpParams(stepUp: StepUpTarget): Record<string, string> {
  return {
    ...(stepUp.maxAge === undefined ? {} : { max_age: String(stepUp.maxAge) }),
    ...(stepUp.acrValues === undefined ? {} : { acr_values: stepUp.acrValues.join(' ') }),
    ...(stepUp.maxAge === 0 || stepUp.acrValues !== undefined ? { prompt: 'login' } : {}),
  };
}

/**
 * Begin sign-in: fresh `state`, `nonce` and PKCE verifier (all from openid-client's CSPRNG),
 * sealed into an encrypted, host-bound, short-lived transaction cookie.
 *
 * @throws GatehouseError `ERR_OIDC_UNAVAILABLE` when discovery fails; `ERR_CONFIG_INVALID` for a
 *   bad `txnKey`, `ttlSeconds` or an `extraParams` key that would override a protocol parameter.
 * @example
 *   const { location, txnCookie } = await startSignIn({ client, txnKey,
 *     redirectUri: 'https://app.example.com/.gatehouse/callback', returnTo: '/reports?q=1' });
 *   // 302 Location: location; set-cookie: txnSetCookie(txnCookie)
 */
export async function startSignIn(options: StartSignInOptions): Promise<SignInStart> {
  const redirectUri = new URL(options.redirectUri);
  assertKey(options.txnKey, 'txnKey');
  for (const key of Object.keys(options.extraParams ?? {})) {
    if (PROTOCOL_PARAMS.has(key)) {
      throw new GatehouseError('ERR_CONFIG_INVALID', {
        message: `extraParams.${key}: protocol parameters cannot be overridden`,
      });
    }
  }
  const config = await options.client.configuration();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const codeVerifier = oidc.randomPKCECodeVerifier();
  const codeChallenge = await oidc.calculatePKCECodeChallenge(codeVerifier);

  const txnCookie = await sealTransaction(
    {
      kind: 'oidc',
      state,
      nonce,
      codeVerifier,
      returnTo: safeReturnPath(options.returnTo),
      host: redirectUri.host,
      ...(options.handoff === undefined ? {} : { handoff: options.handoff }),
      ...(options.stepUp === undefined ? {} : { stepUp: options.stepUp }),
    },
    options.txnKey,
    options.now ?? new Date(),
    options.ttlSeconds ?? DEFAULT_TXN_TTL_SECONDS,
  );

  const url = oidc.buildAuthorizationUrl(config, {
    ...withStepUp(options.extraParams ?? {}, options.stepUp),
    response_type: 'code',
    redirect_uri: redirectUri.href,
    scope: options.client.scopes.join(' '),
    state,
    nonce,
    code_challenge: codeChallenge,
    code_challenge_method: 'S256',
  });
  return { location: url.href, txnCookie };
}
