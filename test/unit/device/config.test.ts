import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../../src/config/load.js';
import { webauthnSettings } from '../../../src/device/webauthn/settings.js';

const BASE = 'policy:\n  bundle: b.tar.gz\n';

function problems(yaml: string): string {
  try {
    parseConfig(yaml, '/etc/gatehouse');
  } catch (err) {
    return String((err as { cause?: unknown }).cause ?? err) + String(err);
  }
  assert.fail('config was accepted');
}

test('device.webauthn: defaults, and the settings the ceremonies run under', () => {
  const config = parseConfig(
    `${BASE}device:\n  webauthn:\n    rp_id: example.com\n    origins: [https://app.example.com]\n    attestation:\n      aaguids: [CB69481E-8FF7-4039-93EC-0A2729A154A8]\n`,
    '/etc/gatehouse',
  );
  const webauthn = config.device?.webauthn;
  assert.ok(webauthn !== undefined);
  assert.equal(webauthn.rp_name, 'Gatehouse');
  assert.equal(webauthn.require_user_verification, true);
  assert.equal(webauthn.operator_approval, false);
  assert.equal(webauthn.proof_interval_seconds, 3600);
  assert.equal(webauthn.challenge_ttl_seconds, 300);
  assert.deepEqual(webauthnSettings(webauthn), {
    rpId: 'example.com',
    rpName: 'Gatehouse',
    origins: ['https://app.example.com'],
    attestationFormats: ['none', 'packed', 'tpm', 'android-key', 'fido-u2f', 'apple'],
    aaguids: ['cb69481e-8ff7-4039-93ec-0a2729a154a8'],
    requireUserVerification: true,
    operatorApproval: false,
    challengeTtlSeconds: 300,
  });
});

test('device.webauthn is absent unless configured', () => {
  assert.equal(parseConfig(BASE, '/etc/gatehouse').device, undefined);
});

const BAD: { name: string; yaml: string; key: RegExp }[] = [
  {
    name: 'no RP ID',
    yaml: 'device:\n  webauthn:\n    origins: [https://app.example.com]\n',
    key: /device\.webauthn\.rp_id: required/,
  },
  {
    name: 'no origin',
    yaml: 'device:\n  webauthn:\n    rp_id: example.com\n',
    key: /device\.webauthn\.origins: at least one origin/,
  },
  {
    name: 'origin off the RP ID',
    yaml: 'device:\n  webauthn:\n    rp_id: example.com\n    origins: [https://example.com.evil.net]\n',
    key: /device\.webauthn\.origins: https:\/\/example\.com\.evil\.net is not on the RP ID/,
  },
  {
    name: 'origin with a path',
    yaml: 'device:\n  webauthn:\n    rp_id: example.com\n    origins: [https://app.example.com/x]\n',
    key: /device\.webauthn\.origins/,
  },
  {
    name: 'http origin outside development',
    yaml: 'device:\n  webauthn:\n    rp_id: example.com\n    origins: [http://app.example.com]\n',
    key: /http:\/\/ is allowed only in development mode/,
  },
  {
    name: 'unknown attestation format',
    yaml: 'device:\n  webauthn:\n    rp_id: example.com\n    origins: [https://example.com]\n    attestation:\n      formats: [selfie]\n',
    key: /device\.webauthn\.attestation\.formats/,
  },
  {
    name: 'AAGUID not a UUID',
    yaml: 'device:\n  webauthn:\n    rp_id: example.com\n    origins: [https://example.com]\n    attestation:\n      aaguids: [yubikey]\n',
    key: /device\.webauthn\.attestation\.aaguids/,
  },
  {
    name: 'unknown key',
    yaml: 'device:\n  webauthn:\n    rp_id: example.com\n    origins: [https://example.com]\n    uv: true\n',
    key: /device\.webauthn\.uv: unknown key/,
  },
];

for (const { name, yaml, key } of BAD) {
  test(`device.webauthn config refused: ${name}`, () => {
    assert.match(problems(BASE + yaml), key);
  });
}
