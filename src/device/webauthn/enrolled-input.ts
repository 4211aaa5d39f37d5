import type { DeviceProofFacts } from '../../decision/device-proof.js';
import type { EnrolledDeviceInput } from '../../input/device.js';
import type { DeviceRegistry } from './types.js';

/**
 * `input.device.enrolled` for a session: the device its record says it proved (read from the
 * registry: kind, registration time, current approval) and that proof; `null` when the session
 * proved none, or the device is no longer in the registry.
 *
 * @throws what the registry throws (the Check then fails closed).
 * @example await enrolledInput(registry, session, 3600, nowSeconds)
 */
export async function enrolledInput(
  registry: Pick<DeviceRegistry, 'get'>,
  session: DeviceProofFacts | undefined,
  intervalSeconds: number,
  nowSeconds: number,
): Promise<EnrolledDeviceInput | null> {
  const id = session?.device_id;
  const at = session?.device_proved_at;
  if (id === undefined || at === undefined) return null;
  const device = await registry.get(id);
  if (device === undefined) return null;
  return {
    id: device.id,
    kind: device.kind,
    registered_at: device.registered_at,
    approval: device.approval,
    proved_at: at,
    user_verified: session?.device_user_verified === true,
    proof_fresh:
      device.approval === 'approved' && at <= nowSeconds + 60 && nowSeconds - at <= intervalSeconds,
  };
}
