/**
 * `gatehouse check`: replay one recorded request against the configured policy, as the live
 * server would answer it, and say so in one line.
 *
 * Exit status: 0 allowed, 1 denied, 2 the check could not be made (bad config, a request or
 * identity file that is not JSON, a policy that does not compile, a missing builtin, a missing
 * `opa`, an evaluation error). A CI job asserting "this must be denied" therefore fails on a
 * broken policy instead of passing.
 */
import { readFile } from 'node:fs/promises';
import { toJson } from '@bufbuild/protobuf';
import { anonymousRuntime } from '../identity/anonymous.js';
import type { Caller } from '../identity/caller.js';
import { createCheckHandler, statusOf, type CheckOutcome } from '../check/handle.js';
import type { IdentityRuntime } from '../identity/runtime.js';
import { loadConfig } from '../config/load.js';
import { deviceOptions } from '../device/trust.js';
import { GatehouseError } from '../errors/gatehouse-error.js';
import { CheckResponseSchema } from '../gen/envoy/service/auth/v3/external_auth_pb.js';
import { createLogger } from '../log/logger.js';
import { PolicyEngine } from '../policy/engine.js';
import { parseIdentityFile } from './identity-file.js';
import { parseRecordedRequest } from './request-file.js';
import { signInPreview } from './sign-in-preview.js';

/** `check`'s exit statuses. */
export const CHECK_EXIT = Object.freeze({ allowed: 0, denied: 1, error: 2 });

/** Options of `gatehouse check`. */
export interface CheckOptions {
  readonly config: string | undefined;
  /** A file, or `-` for stdin. */
  readonly request: string;
  readonly identity: string | undefined;
}

/** Where `check` writes: the JSON report (stdout) and the one-line summary (stderr). */
export interface CheckOutput {
  report(text: string): void;
  summary(line: string): void;
}

/**
 * Run `gatehouse check`; never throws. Returns the exit status.
 *
 * @example
 *   process.exitCode = await runCheck({ config: 'gatehouse.yaml', request: '-', identity: undefined }, output);
 */
export async function runCheck(options: CheckOptions, out: CheckOutput): Promise<number> {
  let policy: PolicyEngine | undefined;
  try {
    const config = await loadConfig(options.config);
    const request = parseRecordedRequest(
      parseJson(
        options.request === '-' ? await readStdin() : await readFile(options.request, 'utf8'),
        'the request',
      ),
    );
    const simulated =
      options.identity === undefined
        ? undefined
        : parseIdentityFile(parseJson(await readFile(options.identity, 'utf8'), 'the identity'));
    policy = new PolicyEngine({
      ...(config.policy.bundle === undefined ? {} : { bundle: config.policy.bundle }),
      ...(config.policy.dir === undefined ? {} : { dir: config.policy.dir }),
      entrypoint: config.policy.entrypoint,
      opaPath: config.policy.opa,
      regoVersion: config.policy.rego_version,
      watch: false,
    });
    // A policy that does not load is reported, not thrown: the Check then fails closed exactly
    // as the live server's would (ERR_POLICY_NOT_LOADED), and the load error is the cause.
    const loadError = await policy.start().then(
      () => undefined,
      (err: unknown) => GatehouseError.from(err),
    );
    const base = anonymousRuntime(config.headers, config.session.cookie_name);
    const identity = config.identity;
    const enabled = identity?.issuer !== undefined && identity.client_id !== undefined;
    // With identity configured, denies take Gatehouse's shape as when serving: an anonymous
    // browser gets the sign-in redirect (previewed: no IdP is contacted), others the 401, a
    // (simulated) signed-in user the 403 page.
    // A simulated identity has no credential behind it: the Check path treats every verified
    // caller alike (the session itself matters only to a sign-out, which a preview never does).
    const caller: Caller | undefined =
      simulated === undefined
        ? undefined
        : { kind: 'bearer', identity: simulated, credential: undefined };
    const runtime: IdentityRuntime = {
      ...base,
      enabled,
      ...(enabled && identity !== undefined ? { signIn: signInPreview(identity) } : {}),
      ...(caller === undefined ? {} : { resolve: () => Promise.resolve(caller) }),
    };
    const engine = policy;
    const outcome = await createCheckHandler({
      policy: () => engine.current(),
      identity: runtime,
      log: createLogger({ level: 'silent' }),
      ...(config.device === undefined ? {} : { device: deviceOptions(config.device) }),
    })(request);
    const error = loadError ?? outcome.error;
    const report = {
      simulated_identity: simulated !== undefined,
      input: outcome.input ?? null,
      decision: outcome.decision ?? null,
      reasons: outcome.decision?.reasons ?? [],
      error: error === undefined ? null : { code: error.code, detail: describe(error) },
      policy_revision: policy.current()?.revision ?? null,
      response: toJson(CheckResponseSchema, outcome.response),
    };
    out.report(`${JSON.stringify(report, null, 2)}\n`);
    out.summary(summarize(outcome, error, request.attributes?.request?.http));
    if (error !== undefined) return CHECK_EXIT.error;
    return outcome.decision?.allowed === true && outcome.response.httpResponse.case === 'okResponse'
      ? CHECK_EXIT.allowed
      : CHECK_EXIT.denied;
  } catch (err) {
    const code = err instanceof GatehouseError ? `${err.code}: ` : '';
    out.summary(`error: ${code}${oneLine(err instanceof Error ? err.message : String(err))}`);
    return CHECK_EXIT.error;
  } finally {
    policy?.stop();
  }
}

/** The one-line summary: `allowed|denied|error: METHOD URL -> STATUS …`. */
export function summarize(
  outcome: CheckOutcome,
  error: GatehouseError | undefined,
  http: { method: string; scheme: string; host: string; path: string } | undefined,
): string {
  const target =
    http === undefined
      ? 'the request'
      : `${http.method} ${http.scheme || 'http'}://${http.host}${http.path}`;
  const status = statusOf(outcome);
  if (error !== undefined)
    return `error: ${target} -> ${status} ${error.code}: ${oneLine(describe(error))}`;
  const reasons = outcome.decision?.reasons ?? [];
  const because = reasons.length === 0 ? '' : ` (${reasons.join('; ')})`;
  if (outcome.response.httpResponse.case === 'okResponse')
    return `allowed: ${target} -> upstream${because}`;
  const headers =
    outcome.response.httpResponse.case === 'deniedResponse'
      ? outcome.response.httpResponse.value.headers
      : [];
  const location = headers.find((h) => h.header?.key.toLowerCase() === 'location')?.header?.value;
  if (location !== undefined && status >= 300 && status < 400) {
    return `denied: ${target} -> ${status} redirect to sign-in: ${location.split('?')[0] ?? location}${because}`;
  }
  const who = outcome.identity.authenticated ? outcome.identity.sub : 'anonymous';
  return `denied: ${target} -> ${status} for ${who}${because}`;
}

function describe(error: GatehouseError): string {
  const cause = error.cause;
  if (cause instanceof Error && cause.message !== '') return `${error.message}: ${cause.message}`;
  return error.message;
}

/** Longest summary detail kept, in characters. */
const MAX_DETAIL = 400;

function oneLine(text: string): string {
  const line = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .join(' ');
  return line.length > MAX_DETAIL ? `${line.slice(0, MAX_DETAIL)}…` : line;
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${what} is not JSON: ${(err as Error).message}`);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
