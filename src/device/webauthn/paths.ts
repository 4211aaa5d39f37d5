/**
 * Where the enrolled-device pages and endpoints live, under the reserved prefix. Not mounted yet:
 * `src/check/reserved.ts` routes them once the registry and challenges come from the store.
 */
export const DEVICE_PATHS = Object.freeze({
  /** GET: the user's devices, with buttons to register this one or prove possession. */
  devices: '/.gatehouse/devices',
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
