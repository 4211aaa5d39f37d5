import { createHash } from 'node:crypto';
import { DEVICE_PATHS } from './paths.js';

/**
 * The one script of the devices page, static (its hash is in the page's CSP, so no other script
 * runs): it asks the endpoints for options, calls the browser's WebAuthn API, posts the result
 * and says what happened in the `#device-status` live region.
 */
export const DEVICE_SCRIPT = `
(() => {
  const status = document.getElementById('device-status');
  const say = (text) => { status.textContent = text; };
  async function post(path, body) {
    const res = await fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body === undefined ? {} : body),
    });
    const json = await res.json();
    if (!res.ok) throw new Error(json.message || 'The request failed.');
    return json;
  }
  const actions = {
    async register() {
      const options = await post(${JSON.stringify(DEVICE_PATHS.registerOptions)});
      const credential = await navigator.credentials.create({
        publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options),
      });
      const result = await post(${JSON.stringify(DEVICE_PATHS.register)}, credential.toJSON());
      return result.device.approval === 'pending'
        ? 'Device registered. It can be used once an administrator approves it.'
        : 'Device registered.';
    },
    async verify() {
      // Sent here by a decision that requires user verification: ask the authenticator for it.
      const uv = new URLSearchParams(location.search).get('uv') === 'required';
      const options = await post(
        ${JSON.stringify(DEVICE_PATHS.verifyOptions)},
        uv ? { user_verification: 'required' } : {},
      );
      const credential = await navigator.credentials.get({
        publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options),
      });
      await post(${JSON.stringify(DEVICE_PATHS.verify)}, credential.toJSON());
      // Sent here by a policy that requires a device: back to where the user was going (a
      // same-origin path only; Gatehouse checks the device again there).
      const rd = new URLSearchParams(location.search).get('rd');
      if (rd && rd.startsWith('/') && !rd.startsWith('//') && !rd.startsWith('/\\\\')) {
        location.assign(rd);
        return 'Device verified. Returning…';
      }
      return 'Device verified.';
    },
    async remove(button) {
      await post(${JSON.stringify(DEVICE_PATHS.remove)}, { id: button.dataset.device });
      button.closest('li').remove();
      return 'Device removed.';
    },
  };
  for (const button of document.querySelectorAll('button[data-action]')) {
    button.addEventListener('click', async () => {
      say('Waiting for your device…');
      button.disabled = true;
      try {
        say(await actions[button.dataset.action](button));
      } catch (err) {
        say('That did not work: ' + (err && err.message ? err.message : String(err)));
      } finally {
        button.disabled = false;
      }
    });
  }
})();
`;

/** `'sha256-…'` of {@link DEVICE_SCRIPT}, for `script-src`. */
export const DEVICE_SCRIPT_HASH = `'sha256-${createHash('sha256').update(DEVICE_SCRIPT, 'utf8').digest('base64')}'`;
