import type { SessionInput } from '../../../../src/identity/session/types.js';

/** A typical session at sign-in (no sid: a new one is generated). */
export const ALICE: SessionInput = Object.freeze({
  sub: 'alice-123',
  email: 'alice@example.com',
  email_verified: true,
  name: 'Alice',
  groups: ['admins', 'dev'],
  idp_iss: 'https://idp.example.com',
  claims: {
    sub: 'alice-123',
    email: 'alice@example.com',
    locale: 'en',
    nonce: 'n-0S6',
    at_hash: 'abc',
  },
});

/** The same, with secrets (forces the JWE shape). */
export const ALICE_WITH_SECRETS: SessionInput = Object.freeze({
  ...ALICE,
  refresh_token: 'rt-SECRET-refresh-token',
  id_token: 'eyJ.id.token',
});
