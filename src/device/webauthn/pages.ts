import { EMPTY, Html, html, page } from '../../pages/html.js';
import { CONTENT_SECURITY_POLICY, type LocalReply } from '../../pages/reply.js';
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

/**
 * The enrolled-devices page for a signed-in user: their devices (kind, registration time,
 * state, last use) and buttons to register this device or prove possession of an enrolled one.
 *
 * @example devicesPage({ name: 'ada@example.com', devices: await registry.listByUser(sub) })
 */
export function devicesPage(options: {
  readonly name: string;
  readonly devices: readonly DeviceRecord[];
}): LocalReply {
  const live = options.devices.filter((d) => d.approval !== 'revoked');
  const list =
    live.length === 0
      ? html`<p class="hint">No device is enrolled yet.</p>`
      : html`<ul>${live.map(
          (d) =>
            html`<li><strong>${d.kind === 'platform' ? 'This kind of device (built-in)' : 'Security key'}</strong>, registered ${when(d.registered_at)}. ${STATE[d.approval]}; last used: ${when(d.last_used)}. <button class="button secondary" type="button" data-action="remove" data-device="${d.id}">Remove</button></li>`,
        )}</ul>`;
  const body = html`<section class="card" aria-labelledby="title">
<p class="eyebrow">Devices</p>
<h1 id="title">Your devices</h1>
<p class="lead">Signed in as <strong>${options.name}</strong>. An enrolled device proves it is you, on this device, with a fingerprint, face, PIN or security key.</p>
<h2>Enrolled</h2>
${list}
<div class="actions">
<button class="button" type="button" data-action="register">Register this device</button>
${live.some((d) => d.approval === 'approved') ? html`<button class="button secondary" type="button" data-action="verify">Verify this device</button>` : EMPTY}
</div>
<p id="device-status" role="status" aria-live="polite"></p>
</section>
<script>${new Html(DEVICE_SCRIPT)}</script>`;
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
