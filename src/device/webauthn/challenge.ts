import { createHash } from 'node:crypto';
import { decodeClientDataJSON } from '@simplewebauthn/server/helpers';
import { GatehouseError } from '../../errors/gatehouse-error.js';
import type { ChallengeStore } from './types.js';

/** Which ceremony a challenge was issued for: one can never answer the other. */
export type Ceremony = 'register' | 'authenticate';

const PREFIX = 'webauthn:';

/**
 * The key a challenge is kept under names its ceremony and (hashed) subject: a claim made for
 * another user or ceremony looks up another key, so it can neither succeed nor burn this one.
 */
function challengeKey(ceremony: Ceremony, sub: string, challenge: string): string {
  const subject = createHash('sha256').update(sub, 'utf8').digest('base64url');
  return `${PREFIX}${ceremony}:${subject}:${challenge}`;
}

/** A claimed challenge and what it was issued with. */
export interface ClaimedChallenge {
  /** base64url, for the library to compare with `clientDataJSON` again. */
  readonly challenge: string;
  /**
   * True when the options asked for `userVerification: 'required'`: the response must then
   * carry the UV flag (the requirement travels with the challenge, so a client cannot drop it).
   */
  readonly userVerification: boolean;
}

/**
 * Remember `challenge` as issued to `sub` for `ceremony`, for `ttlSeconds`; with
 * `userVerification`, an answer to it must be user-verified ({@link ClaimedChallenge}).
 */
export async function rememberChallenge(
  store: ChallengeStore,
  challenge: string,
  ceremony: Ceremony,
  sub: string,
  ttlSeconds: number,
  userVerification = false,
): Promise<void> {
  await store.put(
    challengeKey(ceremony, sub, challenge),
    JSON.stringify({ ceremony, sub, ...(userVerification ? { uv: true } : {}) }),
    ttlSeconds,
  );
}

/**
 * Consume the challenge a response's `clientDataJSON` answers, before anything else is checked:
 * whatever follows, that challenge can never be answered again (a replay fails here). Only a
 * challenge issued to `sub` for `ceremony` is consumed: the subject is part of the lookup, so a
 * signed-in user posting another user's response cannot burn that user's challenge.
 *
 * @returns the challenge, and whether it was issued requiring user verification.
 * @throws GatehouseError `ERR_DEVICE_PROOF_INVALID` when `clientDataJSON` cannot be read;
 *   `ERR_DEVICE_CHALLENGE_INVALID` when the challenge is unknown, used, expired, or was issued
 *   to another user or for the other ceremony.
 */
export async function claimChallenge(
  store: ChallengeStore,
  clientDataJSON: unknown,
  ceremony: Ceremony,
  sub: string,
): Promise<ClaimedChallenge> {
  let challenge: string;
  try {
    if (typeof clientDataJSON !== 'string') throw new TypeError('clientDataJSON is not a string');
    challenge = decodeClientDataJSON(clientDataJSON).challenge;
    if (typeof challenge !== 'string' || challenge === '') throw new TypeError('no challenge');
  } catch (cause) {
    throw new GatehouseError('ERR_DEVICE_PROOF_INVALID', { cause });
  }
  const stored = await store.claimOnce(challengeKey(ceremony, sub, challenge));
  if (stored === undefined)
    throw new GatehouseError('ERR_DEVICE_CHALLENGE_INVALID', {
      cause: new Error('challenge unknown, already used or expired'),
    });
  // Defence in depth: the key already named both.
  const issued: unknown = JSON.parse(stored);
  if (
    typeof issued !== 'object' ||
    issued === null ||
    !('ceremony' in issued) ||
    !('sub' in issued) ||
    issued.ceremony !== ceremony ||
    issued.sub !== sub
  )
    throw new GatehouseError('ERR_DEVICE_CHALLENGE_INVALID', {
      cause: new Error('challenge issued for another user or ceremony'),
    });
  return { challenge, userVerification: 'uv' in issued && issued.uv === true };
}
