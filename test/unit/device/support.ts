import assert from 'node:assert/strict';
import { MemoryChallengeStore } from '../../../src/device/webauthn/memory-challenges.js';
import { MemoryDeviceRegistry } from '../../../src/device/webauthn/memory-registry.js';
import type { CeremonyDeps } from '../../../src/device/webauthn/registration.js';
import type { WebAuthnSettings } from '../../../src/device/webauthn/types.js';
import type { ErrorCode } from '../../../src/errors/codes.js';
import { GatehouseError } from '../../../src/errors/gatehouse-error.js';
import { SoftAuthenticator } from '../../support/soft-authenticator.js';

export const RP_ID = 'example.com';
export const ORIGIN = 'https://app.example.com';
export const SUB = 'user-ada';
/** 2026-12-01T00:00:00Z, frozen. */
export const NOW = Date.UTC(2026, 11, 1);

export const SETTINGS: WebAuthnSettings = {
  rpId: RP_ID,
  rpName: 'Example',
  origins: [ORIGIN],
  attestationFormats: ['none', 'packed'],
  aaguids: [],
  requireUserVerification: true,
  operatorApproval: false,
  challengeTtlSeconds: 300,
};

/** Fresh deps with a clock the test moves (`clock.ms`). */
export function deps(settings: Partial<WebAuthnSettings> = {}): CeremonyDeps & {
  clock: { ms: number };
  registry: MemoryDeviceRegistry;
} {
  const clock = { ms: NOW };
  return {
    settings: { ...SETTINGS, ...settings },
    registry: new MemoryDeviceRegistry(),
    challenges: new MemoryChallengeStore(() => clock.ms),
    now: () => clock.ms,
    clock,
  };
}

export function authenticator(): SoftAuthenticator {
  return new SoftAuthenticator(RP_ID, ORIGIN);
}

/** Rejects with a GatehouseError of exactly `code`. */
export async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof GatehouseError, `not a GatehouseError: ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}
