import type { DecisionResult } from '../log/decision-log.js';
import type { CheckOutcome } from './handle.js';

export type { DecisionResult };

/**
 * Classify a Check's outcome. Gatehouse's own paths are `reserved` whatever their status (a
 * who-am-I page, a callback's redirect, a sign-out): counting them as denials would inflate deny
 * alerts with every sign-in.
 */
export function decisionResult(
  outcome: Pick<CheckOutcome, 'error' | 'handledBy' | 'response'>,
): DecisionResult {
  if (outcome.error !== undefined) return 'error';
  if (outcome.handledBy === 'reserved') return 'reserved';
  return outcome.response.httpResponse.case === 'okResponse' ? 'allowed' : 'denied';
}
