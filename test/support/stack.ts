import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { Browser } from 'playwright-core';
import { startIdp, type RunningIdp, type StartIdpOptions } from '../../demo/idp/start.js';
import type { Gatehouse } from '../../src/server/start.js';
import { launchChromium } from './browser.js';
import { lengthenGrpcTimeouts, startEnvoy, type RunningEnvoy } from './envoy.js';
import { startTestGatehouse, type LogSink } from './gatehouse.js';
import { freePort } from './ports.js';
import { requireTool } from './tools.js';
import { startUpstream } from './upstream.js';

/** The whole sign-in stack a browser test runs against, every part stopped by `t.after`. */
export interface BrowserStack {
  readonly port: number;
  readonly idp: RunningIdp;
  readonly gatehouse: Gatehouse;
  readonly logs: LogSink;
  readonly upstream: Awaited<ReturnType<typeof startUpstream>>;
  readonly envoy: RunningEnvoy;
  readonly browser: Browser;
  /** Gatehouse's config file (for the CLI as a process, against the same store). */
  readonly configFile: string;
}

export interface BrowserStackOptions {
  /** The policy (a .rego file) Gatehouse serves. */
  readonly policy: string;
  /** The redirect URIs registered at the IdP, given Envoy's port. */
  readonly redirectUris: (port: number) => string[];
  readonly postLogoutRedirectUris?: (port: number) => string[];
  /** Extra `identity` config keys (e.g. sign_in_host), given Envoy's port. */
  readonly identity?: (port: number) => Record<string, unknown>;
  /** The IdP's `acr` values and login outcomes (step-up tests). */
  readonly idp?: Pick<StartIdpOptions, 'acrValues' | 'authenticate'>;
  /** The client asks for `auth_time` in every ID token (`require_auth_time`). */
  readonly requireAuthTime?: boolean;
  /** Edits to Envoy's parsed config (see `startEnvoy`'s `patch`). */
  readonly envoyPatch?: (config: Record<string, unknown>) => void;
  /** Extra `session` config keys (e.g. idle_timeout_seconds). */
  readonly session?: Record<string, unknown>;
  /** The `device` config section (e.g. `webauthn`), given Envoy's port. */
  readonly device?: (port: number) => Record<string, unknown>;
  /** The sessions' clock, through the in-process start API (never a config key). */
  readonly clock?: () => number;
}

const CLIENT = { id: 'gatehouse', secret: 'gatehouse-test-secret' };

/**
 * Start the demo IdP, Gatehouse with identity, an upstream recorder, the real Envoy
 * (envoy/front-proxy.yaml) and headless Chromium. Returns undefined when a tool is missing
 * outside CI (the test is then skipped; under CI=true it fails).
 */
export async function startBrowserStack(
  t: TestContext,
  options: BrowserStackOptions,
): Promise<BrowserStack | undefined> {
  const envoyBin = requireTool(t, 'envoy');
  const opa = requireTool(t, 'opa');
  const chromiumBin = requireTool(t, 'chromium');
  if (envoyBin === undefined || opa === undefined || chromiumBin === undefined) return undefined;

  const port = await freePort();
  const idp = await startIdp({
    clients: [
      {
        client_id: CLIENT.id,
        client_secret: CLIENT.secret,
        redirect_uris: options.redirectUris(port),
        post_logout_redirect_uris: options.postLogoutRedirectUris?.(port) ?? [],
        ...(options.requireAuthTime === true ? { require_auth_time: true } : {}),
      },
    ],
    ...options.idp,
  });
  t.after(() => idp.stop());

  const policyDir = mkdtempSync(join(tmpdir(), 'gatehouse-browser-policy-'));
  copyFileSync(options.policy, join(policyDir, 'authz.rego'));
  const { gatehouse, logs, configFile } = await startTestGatehouse(
    { dir: policyDir, opa, watch: false },
    {
      development: true,
      identity: {
        issuer: idp.issuer,
        client_id: CLIENT.id,
        client_secret: CLIENT.secret,
        scopes: ['openid', 'email', 'profile', 'groups', 'offline_access'],
        ...options.identity?.(port),
      },
      ...(options.session === undefined ? {} : { session: options.session }),
      ...(options.device === undefined ? {} : { device: options.device(port) }),
    },
    options.clock === undefined ? {} : { clock: options.clock },
  );
  t.after(() => gatehouse.stop());
  // As behind a real load balancer: no traffic before Gatehouse is ready (the IdP discovered).
  // A sign-in arriving earlier waits at most identity.timeout_ms for discovery and gets the
  // "sign-in service can't be reached" page, which is not what these tests are about.
  const readyBy = Date.now() + 20_000;
  while (!gatehouse.readiness().ready) {
    if (Date.now() > readyBy)
      throw new Error(`Gatehouse not ready after 20 s: ${JSON.stringify(gatehouse.readiness())}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const envoy = await startEnvoy({
    gatehousePort: gatehouse.grpcPort,
    upstreams: { app: upstream.port, admin: upstream.port },
    listenPort: port,
    // Journeys through sign-in, not the fail-fast timeout: see lengthenGrpcTimeouts.
    patch: (config) => {
      if (lengthenGrpcTimeouts(config, '5s') === 0)
        throw new Error('no ext_authz timeout to lengthen');
      options.envoyPatch?.(config);
    },
  });
  t.after(() => envoy.stop());

  const browser = await launchChromium(chromiumBin);
  t.after(() => browser.close());
  return { port, idp, gatehouse, logs, upstream, envoy, browser, configFile };
}
