/**
 * `gatehouse devices list|approve|revoke`: operators list enrolled devices (WebAuthn,
 * docs/devices.md) in the configured store, approve pending ones and revoke any; revoking a
 * device also revokes the sessions bound to it, on every replica (the store's change feed).
 *
 * Like `gatehouse sessions`, only a shared store (`session.store.kind: redis`) can be reached
 * from another process: with `memory` the command refuses (exit 2) saying so. Every approval and
 * revocation is one JSON log line on stderr with who, why, the device and its user.
 */
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { revokeDevice } from '../device/webauthn/revoke.js';
import { StoreDeviceRegistry } from '../device/webauthn/store-registry.js';
import type { DeviceRecord } from '../device/webauthn/types.js';
import { createLogger } from '../log/logger.js';
import { openSharedStore } from './shared-store.js';

/** Exit statuses: 0 done, 1 no such device (approve, revoke), 2 usage or configuration. */
export const DEVICES_EXIT = { ok: 0, none: 1, usage: 2 } as const;

/** Where the command writes. */
export interface DevicesIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

const USAGE = `Usage:
  gatehouse devices list [--config FILE] [--user SUB] [--json]
  gatehouse devices approve [--config FILE] --id ID --reason TEXT [--by WHO]
  gatehouse devices revoke [--config FILE] --id ID --reason TEXT [--by WHO]
`;

/**
 * Run `gatehouse devices ...` with `args` (after `devices`).
 *
 * @returns the exit status ({@link DEVICES_EXIT}).
 * @example process.exitCode = await runDevices(['list', '--json'], io);
 */
export async function runDevices(args: readonly string[], io: DevicesIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'list' && sub !== 'approve' && sub !== 'revoke') {
    io.err(`gatehouse devices: list, approve or revoke\n\n${USAGE}`);
    return DEVICES_EXIT.usage;
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...rest],
      options: {
        config: { type: 'string', short: 'c' },
        user: { type: 'string' },
        id: { type: 'string' },
        reason: { type: 'string' },
        by: { type: 'string' },
        json: { type: 'boolean' },
      },
      strict: true,
    }).values;
  } catch (err) {
    io.err(`gatehouse devices: ${(err as Error).message}\n\n${USAGE}`);
    return DEVICES_EXIT.usage;
  }
  const str = (name: string): string | undefined =>
    typeof values[name] === 'string' ? (values[name] as string) : undefined;
  const [id, reason] = [str('id'), str('reason')];
  if (sub !== 'list') {
    if (id === undefined || id === '') {
      io.err(`gatehouse devices ${sub}: --id ID is required\n\n${USAGE}`);
      return DEVICES_EXIT.usage;
    }
    if (reason === undefined || reason.trim() === '') {
      io.err(`gatehouse devices ${sub}: --reason TEXT is required (it is logged)\n\n${USAGE}`);
      return DEVICES_EXIT.usage;
    }
  }

  const opened = await openSharedStore(
    'gatehouse devices',
    'enrolled devices',
    str('config'),
    io.err,
  );
  if (opened === undefined) return DEVICES_EXIT.usage;
  const registry = new StoreDeviceRegistry(opened.store);
  try {
    if (sub === 'list') {
      const user = str('user');
      const devices =
        user === undefined ? await registry.listAll() : await registry.listByUser(user);
      io.out(
        values['json'] === true ? `${JSON.stringify(devices.map(summary))}\n` : table(devices),
      );
      return DEVICES_EXIT.ok;
    }
    const log = createLogger({
      level: 'info',
      destination: pino.destination({ dest: 2, sync: true }),
    }).child({ command: `devices ${sub}` });
    const who = { by: str('by') ?? operatorName(), reason: reason as string };
    const device = await registry.get(id as string);
    if (device === undefined) {
      io.out('No such device; nothing changed.\n');
      return DEVICES_EXIT.none;
    }
    if (sub === 'approve') {
      const approved = await registry.approve(device.id);
      if (!approved) {
        io.out('The device is revoked; a revoked device cannot be approved.\n');
        return DEVICES_EXIT.none;
      }
      log.info(
        { ...who, id: device.id, sub: device.sub, store: opened.store.kind },
        'device approved',
      );
      io.out(`Approved device ${device.id} of ${device.sub}.\n`);
      return DEVICES_EXIT.ok;
    }
    const revocation = await revokeDevice(opened.store, registry, device.id);
    log.info(
      {
        ...who,
        id: device.id,
        sub: device.sub,
        sessions: revocation.sessions.length,
        store: opened.store.kind,
      },
      'device revoked',
    );
    io.out(
      `Revoked device ${device.id} of ${device.sub} and ${revocation.sessions.length} session${revocation.sessions.length === 1 ? '' : 's'} bound to it.\n`,
    );
    return DEVICES_EXIT.ok;
  } finally {
    await opened.close();
  }
}

/** What an operator sees of a device: never its public key. */
function summary(d: DeviceRecord) {
  return {
    id: d.id,
    sub: d.sub,
    kind: d.kind,
    approval: d.approval,
    aaguid: d.aaguid,
    attestation_format: d.attestation_format,
    registered_at: new Date(d.registered_at * 1000).toISOString(),
    last_used: d.last_used === undefined ? null : new Date(d.last_used * 1000).toISOString(),
  };
}

function table(devices: readonly DeviceRecord[]): string {
  const rows = devices.map(summary);
  const head = ['ID', 'SUB', 'KIND', 'STATE', 'REGISTERED', 'LAST USED'];
  const cells = rows.map((r) => [
    r.id,
    r.sub,
    r.kind,
    r.approval,
    r.registered_at,
    r.last_used ?? '-',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: readonly string[]) =>
    c
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return `${[head, ...cells].map(line).join('\n')}\n${rows.length} device${rows.length === 1 ? '' : 's'}\n`;
}

/** The operator, when --by is not given: the OS user running the command. */
function operatorName(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env['USER'] ?? 'unknown';
  }
}
