import { EMPTY, Html, html, page } from '../../pages/html.js';
import type { PageSection } from '../../pages/pages.js';
import { CONTENT_SECURITY_POLICY, type LocalReply } from '../../pages/reply.js';
import { DEVICE_PATHS } from './paths.js';
import { DEVICE_SCRIPT, DEVICE_SCRIPT_HASH } from './script.js';
import type { DeviceRecord } from './types.js';

/**
 * The devices page's CSP: every page's (nothing loads, no framing, the one stylesheet by hash),
 * plus its one script by hash and `fetch` to this origin only.
 */
export const DEVICES_PAGE_CSP = `${CONTENT_SECURITY_POLICY}; script-src ${DEVICE_SCRIPT_HASH}; connect-src 'self'`;

const DATE = new Intl.DateTimeFormat('en-GB', {
  dateStyle: 'medium',
  timeStyle: 'short',
  timeZone: 'UTC',
});

function when(seconds: number | undefined): string {
  return seconds === undefined ? 'Never' : `${DATE.format(seconds * 1000)} UTC`;
}

const STATE: Readonly<Record<DeviceRecord['approval'], string>> = {
  approved: 'Approved',
  pending: 'Waiting for approval',
  revoked: 'Removed',
};

const KIND: Readonly<Record<DeviceRecord['kind'], string>> = {
  platform: 'Built-in authenticator',
  'cross-platform': 'Security key',
};

/** What a device list shows: the user's devices, and the one this session proved, if any. */
export interface DeviceListing {
  readonly devices: readonly DeviceRecord[];
  /** The device this session proved possession of (its record's `device_id`). */
  readonly provedId?: string | undefined;
}

/**
 * The user's live devices, one item each: kind, a short form of the credential id, registration
 * time, approval state, last use, whether this session proved possession with it, and a Remove
 * button ({@link DEVICE_SCRIPT} posts it to `/.gatehouse/devices/remove`). The one rendering of a
 * device list: the devices page and the who-am-I page both use it. Everything is escaped.
 *
 * @example deviceList({ devices: await registry.listByUser(sub), provedId: session.device_id })
 */
export function deviceList(listing: DeviceListing): Html {
  const live = listing.devices.filter((d) => d.approval !== 'revoked');
  if (live.length === 0) return html`<p class="hint">No device is enrolled yet.</p>`;
  return html`<ul class="devices">${live.map(
    (d) =>
      html`<li><strong>${KIND[d.kind]}</strong> <code title="${d.id}">${shortId(d.id)}</code>, registered ${when(d.registered_at)}. ${STATE[d.approval]}; last used: ${when(d.last_used)}.${d.id === listing.provedId ? html` <strong>This session proved possession with it.</strong>` : EMPTY} <button class="button secondary" type="button" data-action="remove" data-device="${d.id}">Remove</button></li>`,
  )}</ul>`;
}

/** The first 12 characters of a credential id: enough to tell devices apart on a page. */
function shortId(id: string): string {
  return id.length <= 12 ? id : `${id.slice(0, 12)}…`;
}

/** The status line {@link DEVICE_SCRIPT} writes to, and the script itself. */
function scriptParts(): Html {
  return html`<p id="device-status" role="status" aria-live="polite"></p>
<script>${new Html(DEVICE_SCRIPT)}</script>`;
}

/**
 * The who-am-I page's device section (`/.gatehouse/`, with `device.webauthn`): the signed-in
 * user's devices with a Remove button each, a link to the devices page (to register or verify),
 * the status line and the devices page's script; `csp` is {@link DEVICES_PAGE_CSP}, which the page
 * must then send (its script runs by hash).
 *
 * @example whoamiPage(headers, identity, now, whoamiDeviceSection({ devices, provedId }))
 */
export function whoamiDeviceSection(listing: DeviceListing): PageSection {
  return {
    body: html`<h2 id="devices">Your devices</h2>
${deviceList(listing)}
<div class="actions"><a class="button secondary" href="${DEVICE_PATHS.devices}">Register or verify a device</a></div>
${scriptParts()}`,
    csp: DEVICES_PAGE_CSP,
  };
}

/**
 * The enrolled-devices page for a signed-in user: their devices ({@link deviceList}) and buttons
 * to register this device or prove possession of an enrolled one.
 *
 * @example devicesPage({ name: 'ada@example.com', devices: await registry.listByUser(sub) })
 */
export function devicesPage(options: {
  readonly name: string;
  readonly devices: readonly DeviceRecord[];
  readonly provedId?: string | undefined;
}): LocalReply {
  const live = options.devices.filter((d) => d.approval !== 'revoked');
  const body = html`<section class="card" aria-labelledby="title">
<p class="eyebrow">Devices</p>
<h1 id="title">Your devices</h1>
<p class="lead">Signed in as <strong>${options.name}</strong>. An enrolled device proves it is you, on this device, with a fingerprint, face, PIN or security key.</p>
<h2>Enrolled</h2>
${deviceList({ devices: options.devices, provedId: options.provedId })}
<div class="actions">
<button class="button" type="button" data-action="register">Register this device</button>
${live.some((d) => d.approval === 'approved') ? html`<button class="button secondary" type="button" data-action="verify">Verify this device</button>` : EMPTY}
</div>
${scriptParts()}
</section>`;
  return {
    status: 200,
    headers: [
      ['content-type', 'text/html; charset=utf-8'],
      ['cache-control', 'no-store'],
      ['x-content-type-options', 'nosniff'],
      ['referrer-policy', 'no-referrer'],
      ['content-security-policy', DEVICES_PAGE_CSP],
    ],
    body: page('Your devices', body),
  };
}
