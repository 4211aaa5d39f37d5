/**
 * The who-am-I page's device section (issue 18: "users list and remove their devices on the
 * who-am-I page"): the signed-in user's live devices, each with its Remove button, rendered by the
 * same list as the devices page; everything escaped; the page then allows exactly the devices
 * script by hash; without `device.webauthn` (no section) the page is the plain, script-free one.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEVICES_PAGE_CSP, whoamiDeviceSection } from '../../../src/device/webauthn/pages.js';
import { DEVICE_SCRIPT } from '../../../src/device/webauthn/script.js';
import type { DeviceRecord } from '../../../src/device/webauthn/types.js';
import { whoamiPage } from '../../../src/pages/pages.js';
import { CONTENT_SECURITY_POLICY } from '../../../src/pages/reply.js';
import { ALICE, API, BEARER, BROWSER, header, NOW } from './samples.js';

const DEVICE: DeviceRecord = Object.freeze<DeviceRecord>({
  id: 'Y3JlZC1hZGEtMDEyMzQ1Njc4OQ',
  sub: ALICE.sub,
  kind: 'platform',
  public_key: 'pk',
  counter: 3,
  transports: ['internal'],
  aaguid: '00000000-0000-0000-0000-000000000000',
  attestation_format: 'none',
  registered_at: Date.UTC(2025, 0, 1, 9, 30) / 1000,
  approval: 'approved',
  last_used: Date.UTC(2025, 0, 1, 12, 5) / 1000,
});

const { last_used: _never, ...UNUSED } = DEVICE;
const KEY: DeviceRecord = Object.freeze({
  ...UNUSED,
  id: 'a2V5LTI',
  kind: 'cross-platform',
  approval: 'pending',
});

function page(devices: readonly DeviceRecord[], provedId?: string) {
  return whoamiPage(BROWSER, ALICE, NOW, whoamiDeviceSection({ devices, provedId }));
}

describe('who am I: devices', () => {
  test('lists each live device: kind, registered, state, last used, this session, Remove', () => {
    const reply = page(
      [DEVICE, KEY, { ...DEVICE, id: 'cmV2b2tlZA', approval: 'revoked' }],
      DEVICE.id,
    );
    const body = reply.body;
    assert.match(body, /<h2 id="devices">Your devices<\/h2>/);
    const items = body.match(/<li>.*?<\/li>/g) ?? [];
    assert.equal(items.length, 2, 'the revoked device is not listed');
    const [first, second] = items;
    assert.match(first ?? '', /Built-in authenticator/);
    assert.match(
      first ?? '',
      /registered 1 Jan 2025, 09:30 UTC\. Approved; last used: 1 Jan 2025, 12:05 UTC\./,
    );
    assert.match(first ?? '', /This session proved possession with it\./);
    assert.match(
      first ?? '',
      new RegExp(
        `<button class="button secondary" type="button" data-action="remove" data-device="${DEVICE.id}">Remove</button>`,
      ),
    );
    assert.match(second ?? '', /Security key/);
    assert.match(second ?? '', /Waiting for approval; last used: Never\./);
    assert.doesNotMatch(second ?? '', /This session proved/);
    assert.match(body, /<a class="button secondary" href="\/\.gatehouse\/devices">/);
  });

  test('the page runs exactly the devices script, allowed by hash', () => {
    const reply = page([DEVICE]);
    assert.equal(header(reply, 'content-security-policy'), DEVICES_PAGE_CSP);
    assert.equal(reply.headers.filter(([n]) => n === 'content-security-policy').length, 1);
    assert.equal(reply.body.match(/<script/g)?.length, 1);
    assert.ok(reply.body.includes(`<script>${DEVICE_SCRIPT}</script>`));
    assert.match(reply.body, /<p id="device-status" role="status" aria-live="polite"><\/p>/);
  });

  test('an empty list says so, and offers no Remove', () => {
    const body = page([]).body;
    assert.match(body, /No device is enrolled yet\./);
    assert.doesNotMatch(body, /data-action="remove"/);
    const onlyRevoked = page([{ ...DEVICE, approval: 'revoked' }]).body;
    assert.match(onlyRevoked, /No device is enrolled yet\./);
  });

  test('everything rendered is escaped: a hostile credential id', () => {
    const hostile = `"><img src=x onerror=alert(1)>'<script>`;
    const body = page([{ ...DEVICE, id: hostile }], hostile).body;
    assert.doesNotMatch(body, /<img/);
    assert.equal(body.match(/<script/g)?.length, 1, 'only the page script');
    assert.ok(
      body.includes(
        'data-device="&#34;&#62;&#60;img src=x onerror=alert(1)&#62;&#39;&#60;script&#62;"',
      ),
    );
  });

  test('off (no device.webauthn, or not a session): no device section, no script, the plain CSP', () => {
    for (const reply of [
      whoamiPage(BROWSER, ALICE, NOW),
      whoamiPage(BROWSER, BEARER, NOW, whoamiDeviceSection({ devices: [DEVICE] })),
    ]) {
      assert.doesNotMatch(reply.body, /Your devices|<script|data-action/);
      assert.equal(header(reply, 'content-security-policy'), CONTENT_SECURITY_POLICY);
    }
  });

  test('JSON is unchanged by the section', () => {
    const plain = whoamiPage(API, ALICE, NOW);
    const withDevices = whoamiPage(API, ALICE, NOW, whoamiDeviceSection({ devices: [DEVICE] }));
    assert.equal(withDevices.body, plain.body);
    assert.deepEqual(withDevices.headers, plain.headers);
  });
});
