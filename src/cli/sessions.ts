/**
 * `gatehouse sessions list|revoke`: operators list and revoke sessions in the configured store.
 *
 * Only a shared store (`session.store.kind: redis`) can be reached from another process: with
 * `memory` the sessions live in the serving process, and the command refuses (exit 2) saying so,
 * rather than opening an empty store of its own and reporting "nothing found".
 *
 * Every revocation is logged as one JSON line on stderr (src/store/revoke.ts: who, why, sid or
 * sub, count); the store's change feed carries it to every replica.
 */
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { createLogger } from '../log/logger.js';
import { openSharedStore } from './shared-store.js';
import { revokeSessions } from '../store/revoke.js';
import type { StoredSession } from '../store/types.js';

/** Exit statuses: 0 done, 1 nothing matched (revoke) or the store failed, 2 usage or configuration. */
export const SESSIONS_EXIT = { ok: 0, none: 1, usage: 2 } as const;

/** Where the command writes. */
export interface SessionsIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

const USAGE = `Usage:
  gatehouse sessions list [--config FILE] [--user SUB] [--json]
  gatehouse sessions revoke [--config FILE] (--sid ID | --user SUB) --reason TEXT [--by WHO]
`;

/**
 * Run `gatehouse sessions ...` with `args` (after `sessions`).
 *
 * @returns the exit status ({@link SESSIONS_EXIT}).
 * @example process.exitCode = await runSessions(['list', '--json'], io);
 */
export async function runSessions(args: readonly string[], io: SessionsIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'list' && sub !== 'revoke') {
    io.err(`gatehouse sessions: list or revoke\n\n${USAGE}`);
    return SESSIONS_EXIT.usage;
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...rest],
      options: {
        config: { type: 'string', short: 'c' },
        user: { type: 'string' },
        sid: { type: 'string' },
        reason: { type: 'string' },
        by: { type: 'string' },
        json: { type: 'boolean' },
      },
      strict: true,
    }).values;
  } catch (err) {
    io.err(`gatehouse sessions: ${(err as Error).message}\n\n${USAGE}`);
    return SESSIONS_EXIT.usage;
  }
  const str = (name: string): string | undefined =>
    typeof values[name] === 'string' ? (values[name] as string) : undefined;
  const [user, sid, reason] = [str('user'), str('sid'), str('reason')];
  if (sub === 'revoke') {
    if ((user === undefined) === (sid === undefined)) {
      io.err(`gatehouse sessions revoke: exactly one of --sid ID or --user SUB\n\n${USAGE}`);
      return SESSIONS_EXIT.usage;
    }
    if (reason === undefined || reason.trim() === '') {
      io.err(`gatehouse sessions revoke: --reason TEXT is required (it is logged)\n\n${USAGE}`);
      return SESSIONS_EXIT.usage;
    }
  }

  const opened = await openSharedStore('gatehouse sessions', 'sessions', str('config'), io.err);
  if (opened === undefined) return SESSIONS_EXIT.usage;
  try {
    if (sub === 'list') {
      const sessions = await opened.store.list(user === undefined ? {} : { sub: user });
      io.out(
        values['json'] === true ? `${JSON.stringify(sessions.map(summary))}\n` : table(sessions),
      );
      return SESSIONS_EXIT.ok;
    }
    const log = createLogger({
      level: 'info',
      destination: pino.destination({ dest: 2, sync: true }),
    }).child({ command: 'sessions revoke' });
    const by = str('by') ?? operatorName();
    const revoked = await revokeSessions(
      opened.store,
      sid === undefined ? { sub: user as string } : { sid },
      { by, reason: reason as string },
      log,
    );
    io.out(
      revoked.length === 0
        ? 'No session matched; nothing was revoked.\n'
        : `Revoked ${revoked.length} session${revoked.length === 1 ? '' : 's'}: ${revoked.join(' ')}\n`,
    );
    return revoked.length === 0 ? SESSIONS_EXIT.none : SESSIONS_EXIT.ok;
  } finally {
    await opened.close();
  }
}

/** What an operator sees of a session: never its data (identity, tokens). */
function summary(s: StoredSession) {
  return {
    sid: s.sid,
    sub: s.sub,
    created_at: new Date(s.createdAt).toISOString(),
    last_seen_at: new Date(s.lastSeenAt).toISOString(),
    expires_at: new Date(s.expiresAt).toISOString(),
  };
}

function table(sessions: readonly StoredSession[]): string {
  const rows = sessions.map(summary);
  const head = ['SID', 'SUB', 'CREATED', 'LAST SEEN', 'EXPIRES'];
  const cells = rows.map((r) => [r.sid, r.sub, r.created_at, r.last_seen_at, r.expires_at]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: readonly string[]) =>
    c
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return `${[head, ...cells].map(line).join('\n')}\n${rows.length} session${rows.length === 1 ? '' : 's'}\n`;
}

/** The operator, when --by is not given: the OS user running the command. */
function operatorName(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env['USER'] ?? 'unknown';
  }
}
