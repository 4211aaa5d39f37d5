/**
 * Gatehouse's own signed JWTs that cross hosts (the central sign-in hand-off): signed with the
 * first key of Gatehouse's ring, verified against the ring by exact `kid`. Whoever holds only the
 * session secret (and so the hand-off encryption key) cannot mint one.
 */
import { decodeProtectedHeader, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import type { KeyRing } from '../../keys/key-ring.js';
import { COMPACT_JWS, headerProblem } from '../../keys/jose-header.js';

/** Sign `payload` with the ring's signing key under `typ`; registered claims are set by the caller's `build`. */
export function signOwn(
  ring: KeyRing,
  typ: string,
  payload: JWTPayload,
  build: (jwt: SignJWT) => SignJWT,
): Promise<string> {
  return build(
    new SignJWT(payload).setProtectedHeader({ alg: ring.signing.alg, kid: ring.signing.kid, typ }),
  ).sign(ring.signing.privateKey);
}

/**
 * Verify a JWS signed by one of the ring's keys, with exactly `typ`, `audience` and (when given)
 * `issuer`; `iat` and `exp` required.
 *
 * @throws Error (any) when it does not verify; callers map it to their own code.
 */
export async function verifyOwn(
  ring: KeyRing,
  jws: string,
  typ: string,
  expected: { audience: string; issuer?: string; now: Date; maxTokenAge: string },
): Promise<JWTPayload> {
  if (!COMPACT_JWS.test(jws)) throw new Error('not a compact JWS');
  const header = decodeProtectedHeader(jws) as Record<string, unknown>;
  const problem = headerProblem(header, { requireKid: true });
  if (problem !== undefined) throw new Error(problem);
  if (Object.hasOwn(header, 'crit')) throw new Error('"crit" header present');
  const key = ring.verification.get(header['kid'] as string);
  if (key === undefined) throw new Error('unknown "kid"');
  const { payload } = await jwtVerify(jws, key.publicKey, {
    algorithms: [key.alg],
    typ,
    audience: expected.audience,
    ...(expected.issuer === undefined ? {} : { issuer: expected.issuer }),
    currentDate: expected.now,
    requiredClaims: ['iat', 'exp', 'aud'],
    maxTokenAge: expected.maxTokenAge,
  });
  return payload;
}
