/**
 * Step-up: a decision that allows only with a recent enough, or strong enough, authentication
 * (`max_auth_age_seconds`, `acr_values`), and the one comparison every path uses (the Check, the
 * bearer 401, the step-up callback), so what the callback accepts is what the next Check allows.
 */

/** What a decision asks of the caller's authentication. At least one member is set. */
export interface StepUp {
  /** The user must have authenticated at most this many seconds ago (OIDC `max_age`). */
  readonly maxAuthAgeSeconds: number | undefined;
  /** The authentication's `acr` must be one of these (any of; OIDC `acr_values`). */
  readonly acrValues: readonly string[] | undefined;
}

/** The authentication facts a caller has (`input.identity`'s, or a new ID token's). */
export interface AuthenticationFacts {
  readonly auth_time?: number;
  readonly acr?: string;
}

/**
 * Seconds added to `max_auth_age_seconds` when comparing: the round trip through the identity
 * provider and clock skew between it and Gatehouse. Without it `max_auth_age_seconds: 0` could
 * never be met by the request that follows the sign-in, and the browser would loop.
 */
export const STEP_UP_LEEWAY_SECONDS = 30;

/** Why an authentication falls short. */
export type StepUpShortfall =
  | 'auth_time_missing'
  | 'auth_time_too_old'
  | 'acr_missing'
  | 'acr_not_allowed';

/**
 * What the authentication lacks for `stepUp`; empty when it satisfies it. Fails closed: a
 * requirement on a fact the authentication does not carry (no `auth_time`, no `acr`) is unmet.
 *
 * @example shortfalls({ maxAuthAgeSeconds: 300, acrValues: undefined }, identity, nowSeconds)
 */
export function shortfalls(
  stepUp: StepUp,
  facts: AuthenticationFacts,
  nowSeconds: number,
): StepUpShortfall[] {
  const out: StepUpShortfall[] = [];
  if (stepUp.maxAuthAgeSeconds !== undefined) {
    const authTime = facts.auth_time;
    // A time in the future (beyond the leeway) is no evidence of a recent sign-in: missing.
    if (
      authTime === undefined ||
      !Number.isFinite(authTime) ||
      authTime > nowSeconds + STEP_UP_LEEWAY_SECONDS
    )
      out.push('auth_time_missing');
    else if (nowSeconds - authTime > stepUp.maxAuthAgeSeconds + STEP_UP_LEEWAY_SECONDS)
      out.push('auth_time_too_old');
  }
  if (stepUp.acrValues !== undefined) {
    if (facts.acr === undefined) out.push('acr_missing');
    else if (!stepUp.acrValues.includes(facts.acr)) out.push('acr_not_allowed');
  }
  return out;
}

/** The `WWW-Authenticate` value for a caller whose token falls short (RFC 9470 §3). */
export function stepUpChallenge(stepUp: StepUp, shortfall: readonly StepUpShortfall[]): string {
  const parts = [
    'Bearer error="insufficient_user_authentication"',
    `error_description="${describe(shortfall)}"`,
  ];
  if (stepUp.acrValues !== undefined) parts.push(`acr_values="${stepUp.acrValues.join(' ')}"`);
  if (stepUp.maxAuthAgeSeconds !== undefined) parts.push(`max_age=${stepUp.maxAuthAgeSeconds}`);
  return parts.join(', ');
}

/** The shortfall in words (fixed sentences: safe inside a quoted-string). */
export function describe(shortfall: readonly StepUpShortfall[]): string {
  const time = shortfall.some((s) => s === 'auth_time_missing' || s === 'auth_time_too_old');
  const acr = shortfall.some((s) => s === 'acr_missing' || s === 'acr_not_allowed');
  if (time && acr) return 'A more recent and stronger authentication is required';
  if (acr) return 'A stronger authentication level is required';
  return 'A more recent authentication is required';
}
