/**
 * What reaches old space per Check, by allocating function: Gatehouse started as the benchmark
 * starts it (bench/systems.ts, role-based, the traffic stage's requests with N distinct tokens),
 * one warm pass over the tokens, then a fixed rate for a while with V8's sampling heap profiler
 * keeping only the samples that survive young-generation collections (bench/survivors-preload.ts).
 * Objects that die young are dropped from the profile; what is left was promoted (or allocated in
 * old space to begin with) or is still alive at the end, such as new cache entries.
 *
 *   node dist/bench/survivors.js [--alg RS256] [--tokens 10000] [--rps 500] [--seconds 30] [--top 25] [--node-flags "…"]
 *
 * Prints the sampled bytes per Check of the top allocating functions (the profiler samples about
 * every KiB, so small figures are rough). The profiler slows collections down: its latency is not
 * Gatehouse's, and it prints none.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type AllocationNode, bytesBySite } from './heap-profile.js';
import { loadgen, ROOT } from './lib.js';
import { startIdp, startSystem } from './systems.js';
import { mintTokens, type TokenAlg, writeTrafficFrames } from './traffic.js';

const { values: args } = parseArgs({
  options: {
    alg: { type: 'string', default: 'RS256' },
    tokens: { type: 'string', default: '10000' },
    rps: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '30' },
    top: { type: 'string', default: '25' },
    'node-flags': { type: 'string', default: '' },
  },
});
const alg = args.alg as TokenAlg;
if (alg !== 'RS256' && alg !== 'ES256') throw new Error(`--alg: RS256 or ES256, not ${alg}`);

const idp = await startIdp();
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-survivors-'));
const profileFile = join(dir, 'survivors.json');
try {
  const tokenCount = Number(args.tokens);
  const framesFile = writeTrafficFrames(
    dir,
    `${alg}-${tokenCount}`,
    mintTokens(idp, alg, tokenCount),
  );
  process.env['GATEHOUSE_SURVIVORS_OUT'] = profileFile;
  const system = await startSystem('gatehouse', 'rbac', {
    idp,
    dir,
    logLevel: 'info',
    nodeFlags: [
      '--import',
      join(ROOT, 'dist', 'bench', 'survivors-preload.js'),
      ...args['node-flags'].split(' ').filter((f) => f !== ''),
    ],
  });
  let checks = 0;
  try {
    const base = { port: system.port, framesFile, concurrency: 50, connections: 4 };
    await loadgen({ ...base, requests: tokenCount });
    process.kill(system.process.pid, 'SIGWINCH');
    const r = await loadgen({ ...base, rps: Number(args.rps), seconds: Number(args.seconds) });
    if (r.errors > 0) throw new Error(`errors: ${JSON.stringify(r.error_kinds)}`);
    checks = r.requests;
  } finally {
    await system.process.stop();
  }
  const profile = JSON.parse(readFileSync(profileFile, 'utf8')) as { head: AllocationNode };
  const { total, sites } = bytesBySite(profile);
  console.log(
    `${alg} × ${tokenCount} tokens, ${checks} Checks at ${args.rps}/s: ${(total / checks).toFixed(0)} B per Check survived young-generation collections (sampled)`,
  );
  for (const [site, bytes] of sites.slice(0, Number(args.top)))
    console.log(`${(bytes / checks).toFixed(0).padStart(7)} B  ${site}`);
} finally {
  await idp.close();
  rmSync(dir, { recursive: true, force: true });
}
