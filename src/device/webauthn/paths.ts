import { PATHS } from '../../pages/pages.js';

/**
 * Where the enrolled-device pages and endpoints live, under the reserved prefix: routed by
 * `src/check/reserved.ts` to `src/device/webauthn/mount.ts` when `device.webauthn` is set.
 */
export const DEVICE_PATHS = Object.freeze({
  /** GET: the user's devices, with buttons to register this one or prove possession. */
  devices: PATHS.devices,
  /** POST: options for `navigator.credentials.create()`. */
  registerOptions: '/.gatehouse/devices/register/options',
  /** POST: the registration response; enrolls the device. */
  register: '/.gatehouse/devices/register',
  /** POST: options for `navigator.credentials.get()`. */
  verifyOptions: '/.gatehouse/devices/verify/options',
  /** POST: the assertion; a proof of possession. */
  verify: '/.gatehouse/devices/verify',
  /** POST `{"id": …}`: the user removes (revokes) one of their own devices. */
  remove: '/.gatehouse/devices/remove',
});
