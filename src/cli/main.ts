#!/usr/bin/env -S node --max-semi-space-size=8 --heap-growing-percent=100 --no-allocation-site-pretenuring
import cluster from 'node:cluster';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.js';
import { generateKeyFiles, SESSION_SECRET_FILE, SIGNING_KEY_FILE } from '../keys/generate.js';
import { createLogger, stdoutDestination } from '../log/logger.js';
import { runPrimary } from '../workers/primary.js';
import { resolveWorkers } from '../workers/ipc.js';
import { runWorker } from '../workers/worker.js';
import { startGatehouse } from '../server/start.js';
import { CHECK_EXIT, runCheck } from './check.js';
import { runSessions } from './sessions.js';
import { runDevices } from './devices.js';

const USAGE = `Usage: gatehouse <command> [options]

Commands:
  serve [--config FILE]                     Serve ext_authz Check on gRPC (config also from GATEHOUSE_CONFIG)
  check [--config FILE] --request FILE|- [--identity FILE]
                                            Evaluate a recorded request against the configured policy and
                                            print the input, decision, reasons and Envoy's response.
                                            --identity: a SIMULATED signed-in user ({"sub","email","groups",...})
                                            Exit 0 allowed, 1 denied, 2 error.
  sessions list [--config FILE] [--user SUB] [--json]
                                            List the sessions in the configured store (redis)
  sessions revoke [--config FILE] (--sid ID | --user SUB) --reason TEXT [--by WHO]
                                            Revoke sessions on every replica; logged with who and why
  devices list [--config FILE] [--user SUB] [--json]
                                            List enrolled devices (WebAuthn) in the configured store (redis)
  devices approve|revoke [--config FILE] --id ID --reason TEXT [--by WHO]
                                            Approve a pending device, or revoke one and the sessions bound to it
  keygen --out DIR                          Write a new ES256 signing key (signing-key.pem) and a session
                                            secret (session-secret) for keys.signing / session.secret
  version                                   Print the version (also --version, -v)
  help                                      Show this help
`;

/** Start failures that mean "fix the configuration": exit status 2. */
const CONFIG_CODES: ReadonlySet<string> = new Set([
  'ERR_CONFIG_INVALID',
  'ERR_KEYS_INVALID',
  'ERR_POLICY_ENTRYPOINT',
]);

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'check':
      return check(rest);
    case 'keygen':
      return keygen(rest);
    case 'sessions':
      return runSessions(rest, {
        out: (text) => process.stdout.write(text),
        err: (text) => process.stderr.write(text),
      });
    case 'devices':
      return runDevices(rest, {
        out: (text) => process.stdout.write(text),
        err: (text) => process.stderr.write(text),
      });
    case 'version':
    case '--version':
    case '-v':
      process.stdout.write(`gatehouse ${packageVersion()}\n`);
      return 0;
    case 'help':
    case '--help':
    case '-h':
    case undefined:
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`gatehouse: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      return 2;
  }
}

async function serve(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { config: { type: 'string', short: 'c' } },
    strict: true,
  });
  const config = await loadConfig(values.config);
  const configFile = values.config ?? process.env['GATEHOUSE_CONFIG'];
  const workers = resolveWorkers(config.workers);
  // In a cluster every process writes to the same stdout: each write stays within PIPE_BUF
  // (4096 bytes, whole lines) so the kernel never interleaves two processes' lines, and a
  // quiet worker's lines still appear within a second. Every line says which process wrote it.
  const clustered = cluster.isWorker || workers > 1;
  const base = createLogger({
    level: config.log.level,
    ...(clustered
      ? {
          destination: stdoutDestination({ minLength: 2048, maxWrite: 4096 }),
        }
      : {}),
  });
  const log = cluster.isWorker
    ? base.child({ pid: process.pid, worker: cluster.worker?.id })
    : workers > 1
      ? base.child({ pid: process.pid, role: 'primary' })
      : base;
  // The Check path never throws; anything reaching here is a bug. Exit so the supervisor (or the
  // cluster primary) restarts us: while we are down Envoy denies (failure_mode_allow: false).
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught exception');
    log.flush();
    process.exit(70);
  });
  process.on('unhandledRejection', (err) => {
    log.fatal({ err }, 'unhandled rejection');
    log.flush();
    process.exit(70);
  });
  const exit = (code: number): never => {
    log.flush();
    process.exit(code);
  };

  if (cluster.isWorker) {
    // A worker's IPC channel keeps it alive: a failed start must exit explicitly (the primary
    // sees the status and fails the cluster's start, or restarts the worker later on).
    exit(await runWorker({ config, log, configFile }).catch(reportFailure));
  }
  if (workers > 1) {
    const code = await runPrimary({ config, log, workers, configFile }).catch((err: unknown) => {
      // The primary's own start failures (keys, HTTP port) are reported like a single process's.
      if ((err as { exitCode?: number }).exitCode === undefined) throw err;
      log.fatal({ err }, 'cluster start failed');
      // Exit as the failing worker did (2: configuration), after it printed why.
      return (err as { exitCode?: number }).exitCode ?? 1;
    });
    exit(code);
  }

  const gatehouse = await startGatehouse(
    config,
    log,
    configFile === undefined ? {} : { configFile },
  );
  process.on('SIGHUP', () => {
    log.info({ signal: 'SIGHUP' }, 'reloading');
    void gatehouse.reload();
  });
  const stop = (signal: string) => {
    log.info({ signal }, 'shutting down');
    void gatehouse.stop().then(() => exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  return new Promise<number>(() => {
    // Runs until a signal.
  });
}

async function check(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string', short: 'c' },
      request: { type: 'string', short: 'r' },
      identity: { type: 'string', short: 'i' },
    },
    strict: true,
  });
  if (values.request === undefined) {
    process.stderr.write('gatehouse check: --request FILE (or - for stdin) is required\n');
    return CHECK_EXIT.error;
  }
  return runCheck(
    { config: values.config, request: values.request, identity: values.identity },
    {
      report: (text) => process.stdout.write(text),
      summary: (line) => process.stderr.write(`gatehouse check: ${line}\n`),
    },
  );
}

async function keygen(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { out: { type: 'string', short: 'o' } },
    strict: true,
  });
  if (values.out === undefined) {
    process.stderr.write('gatehouse keygen: --out DIR is required\n');
    return 2;
  }
  await mkdir(values.out, { recursive: true, mode: 0o700 });
  // Keys are never overwritten, and nothing is written when either file is in the way.
  const existing = [SIGNING_KEY_FILE, SESSION_SECRET_FILE]
    .map((name) => join(values.out as string, name))
    .filter((file) => existsSync(file));
  if (existing.length > 0) {
    process.stderr.write(
      `gatehouse keygen: ${existing.join(' and ')} already exist${existing.length === 1 ? 's' : ''}; keygen never overwrites keys and wrote nothing.\n` +
        'To rotate, write the new key to another folder (gatehouse keygen --out DIR/next) and follow\n' +
        'the rotation steps in docs/reference/identity.md ("Rotation").\n',
    );
    return 2;
  }
  const files = await generateKeyFiles(values.out);
  process.stdout.write(
    `Wrote ${files.signingKeyFile} (ES256, kid ${files.kid}) and ${files.sessionSecretFile}.\n` +
      `Configure:\n  keys:\n    signing: [${files.signingKeyFile}]\n  session:\n    secret: { file: ${files.sessionSecretFile} }\n`,
  );
  return 0;
}

/** The version in package.json (next to dist/ in a checkout, an npm install and the image). */
function packageVersion(): string {
  const pkg = JSON.parse(
    readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'),
  ) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

/** Print why a command failed; the exit status: 2 the configuration is wrong (its message names the key), 1 anything else. */
function reportFailure(err: unknown): number {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: string }).code;
  process.stderr.write(`gatehouse: ${code ? `${code}: ` : ''}${message}\n`);
  return code !== undefined && CONFIG_CODES.has(code) ? 2 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0 || process.argv[2] !== 'serve') process.exitCode = code;
  },
  (err: unknown) => {
    process.exitCode = reportFailure(err);
  },
);
