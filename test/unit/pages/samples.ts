/**
 * One sample of every page Gatehouse renders, with fixed inputs and a frozen clock: the unit
 * tests check their markup and the browser test (test/e2e/pages.test.ts) screenshots them.
 */
import { ERRORS, type ErrorCode } from '../../../src/errors/codes.js';
import { GatehouseError } from '../../../src/errors/gatehouse-error.js';
import type { AuthenticatedIdentity } from '../../../src/input/types.js';
import {
  denyPage,
  errorPage,
  notFoundPage,
  PATHS,
  signedOutPage,
  signOutConfirmPage,
  whoamiPage,
} from '../../../src/pages/pages.js';
import type { LocalReply } from '../../../src/pages/reply.js';

/** What Chromium sends for a navigation. */
export const BROWSER = Object.freeze({
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8',
});
/** What an API client sends. */
export const API = Object.freeze({ accept: 'application/json' });

/** 2025-01-01T12:00:00Z */
export const NOW = 1_735_732_800;
export const REQUEST_ID = '6f1c2a9e-5b1d-4c47-9d3e-2b7f0a8c4e11';
/** A token-looking secret that must never reach a page. */
export const SECRET_TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2VjcmV0LXNpZ25hdHVyZQ';

export const ALICE: AuthenticatedIdentity = Object.freeze({
  authenticated: true,
  method: 'session',
  sub: '248289761001',
  email: 'alice@example.com',
  email_verified: true,
  name: 'Alice Liddell',
  groups: ['admins', 'staff'],
  claims: { locale: 'en', id_token: SECRET_TOKEN, refresh_token: 'refresh-secret-value' },
  session_id: 'Xq3bT0o9c4e7LmIJd9XQ2w',
  issued_at: NOW - 600,
  expires_at: NOW + 3000,
});

export const BEARER: AuthenticatedIdentity = Object.freeze({
  ...ALICE,
  method: 'bearer',
  session_id: null,
  claims: { token: SECRET_TOKEN },
});

/** A user whose every field is an attack (reasons, emails, names and groups come from the IdP and policy). */
export const MALLORY: AuthenticatedIdentity = Object.freeze({
  ...ALICE,
  sub: `sub"><script>alert('sub')</script>`,
  email: `"<script>alert(1)</script>"@evil.test`,
  name: `Mallory' onmouseover='alert(2)`,
  groups: ['<b>admins</b>', `x" onclick="alert(3)`],
});
export const HOSTILE_REASONS = Object.freeze([
  `<script>alert("reason")</script>`,
  `"><img src=x onerror=alert(4)>`,
  `it's & "quoted"`,
]);

/** The error codes the brief names, one page variant each. */
export const ERROR_VARIANTS: readonly { name: string; code: ErrorCode }[] = [
  { name: 'error-idp-unavailable', code: 'ERR_OIDC_UNAVAILABLE' },
  { name: 'error-state-mismatch', code: 'ERR_OIDC_STATE_MISMATCH' },
  { name: 'error-id-token-invalid', code: 'ERR_OIDC_ID_TOKEN_INVALID' },
  { name: 'error-txn-expired', code: 'ERR_OIDC_TXN_EXPIRED' },
  { name: 'error-txn-missing', code: 'ERR_OIDC_TXN_MISSING' },
  { name: 'error-sign-out-forbidden', code: 'ERR_SIGN_OUT_FORBIDDEN' },
  { name: 'error-internal', code: 'ERR_INTERNAL' },
];

export interface Sample {
  readonly name: string;
  /** The page, rendered for `headers`. */
  readonly render: (headers: Readonly<Record<string, string>>) => LocalReply;
}

function coded(code: ErrorCode): GatehouseError {
  // The detail lives in `cause` and must never reach a page.
  return new GatehouseError(code, { cause: new Error(`upstream said: ${SECRET_TOKEN}`) });
}

/** Every page, once, with realistic inputs. */
export const SAMPLES: readonly Sample[] = [
  {
    name: 'deny',
    render: (headers) =>
      denyPage({
        headers,
        identity: ALICE,
        method: 'GET',
        url: 'https://app.example.com/vault/reports/2024',
        reasons: [
          'alice@example.com is not in group vault-readers',
          'the vault is read-only outside office hours (08:00–18:00 UTC)',
        ],
        requestId: REQUEST_ID,
      }),
  },
  ...ERROR_VARIANTS.map(({ name, code }) => ({
    name,
    render: (headers: Readonly<Record<string, string>>) =>
      errorPage({ headers, error: coded(code), requestId: REQUEST_ID, retryUrl: PATHS.signIn }),
  })),
  { name: 'signed-out', render: (headers) => signedOutPage(headers) },
  { name: 'whoami', render: (headers) => whoamiPage(headers, ALICE, NOW) },
  {
    name: 'sign-out-confirm',
    render: (headers) =>
      signOutConfirmPage({ headers, host: 'app.example.com', signedIn: true, email: ALICE.email }),
  },
  { name: 'not-found', render: (headers) => notFoundPage(headers, REQUEST_ID) },
];

/** Pages built from hostile input, for the escaping tests. */
export const HOSTILE_SAMPLES: readonly Sample[] = [
  {
    name: 'deny (hostile)',
    render: (headers) =>
      denyPage({
        headers,
        identity: MALLORY,
        method: 'GET',
        url: `https://app.example.com/"><script>alert(5)</script>`,
        reasons: HOSTILE_REASONS,
        requestId: `"><script>alert(6)</script>`,
      }),
  },
  { name: 'whoami (hostile)', render: (headers) => whoamiPage(headers, MALLORY, NOW) },
  {
    name: 'sign-out-confirm (hostile)',
    render: (headers) =>
      signOutConfirmPage({
        headers,
        host: `evil.test"><script>alert(7)</script>`,
        signedIn: true,
        email: MALLORY.email,
      }),
  },
  {
    name: 'error (hostile request id)',
    render: (headers) =>
      errorPage({
        headers,
        error: coded('ERR_OIDC_TXN_EXPIRED'),
        requestId: `<script>alert(8)</script>`,
        retryUrl: `/.gatehouse/sign_in?rd="><script>`,
      }),
  },
];

/** Every code in the table, for "each error has a page with a way forward". */
export const ALL_CODES = Object.keys(ERRORS) as ErrorCode[];

/** The value of `name` in a reply (first one). */
export function header(reply: LocalReply, name: string): string | undefined {
  return reply.headers.find(([n]) => n === name)?.[1];
}
