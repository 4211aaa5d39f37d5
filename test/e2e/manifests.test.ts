/**
 * deploy/ (Kubernetes and Istio manifests) and the Dockerfile.
 *
 * - Every manifest passes kubeconform -strict against Kubernetes' schemas (each version in
 *   install-tools.sh KUBERNETES_SCHEMA_VERSIONS) and Istio's (CRDs and MeshConfig from
 *   istio.io/api), all built offline into .tools/schemas by scripts/install-tools.sh.
 * - Deliberately broken manifests fail, naming the fault: the validator is real.
 * - The manifests agree with each other and with Gatehouse (ports, names, labels, the config
 *   file passes Gatehouse's own validator, the grace period covers drain + shutdown grace).
 * - The Dockerfile is linted structurally (no container engine on this machine).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { repoPath } from '../support/paths.js';
import { requireTool } from '../support/tools.js';
import { NODE_FLAGS } from '../../src/server/node-flags.js';

const run = promisify(execFile);

// --- helpers -------------------------------------------------------------------------------------

type Obj = Record<string, unknown>;

/** A value at a dotted path (numeric parts index arrays); throws naming the path if absent. */
function at(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') throw new Error(`${path}: no ${part}`);
    cur = (cur as Obj)[part];
    if (cur === undefined) throw new Error(`${path}: no ${part}`);
  }
  return cur;
}

function yamlDocs(file: string): Obj[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((doc) => {
    if (doc.errors.length > 0)
      throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    return doc.toJS() as Obj;
  });
}

const k8sDir = repoPath('deploy', 'kubernetes');
const istioDir = repoPath('deploy', 'istio');
const yamlFiles = (dir: string): string[] =>
  readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
const manifests = (dir: string): Obj[] =>
  yamlFiles(dir)
    .filter((f) => f !== 'kustomization.yaml')
    .flatMap((f) => yamlDocs(join(dir, f)));
const all = [...manifests(k8sDir), ...manifests(istioDir)];

function find(kind: string, name?: string): Obj {
  const found = all.filter(
    (o) => o['kind'] === kind && (name === undefined || at(o, 'metadata.name') === name),
  );
  assert.equal(
    found.length,
    1,
    `expected one ${kind}${name ? ` ${name}` : ''} in deploy/, found ${found.length}`,
  );
  return found[0] as Obj;
}

/** install-tools.sh's pinned versions (one source of truth). */
function pinned(name: string): string {
  const m = new RegExp(`^${name}="([^"]+)"`, 'm').exec(
    readFileSync(repoPath('scripts', 'install-tools.sh'), 'utf8'),
  );
  assert.ok(m?.[1], `${name} not pinned in scripts/install-tools.sh`);
  return m[1];
}

const schemaRoot = repoPath('.tools', 'schemas');
const k8sVersions = pinned('KUBERNETES_SCHEMA_VERSIONS').split(/\s+/);

/** The schemas, or a skip (a failure under CI=true) when install-tools.sh has not built them. */
function requireSchemas(t: TestContext): boolean {
  const missing = [
    ...k8sVersions.map((v) =>
      join(schemaRoot, 'kubernetes', `v${v}-local-strict`, 'deployment-apps-v1.json'),
    ),
    join(schemaRoot, 'istio', 'authorizationpolicy-security-v1.json'),
    join(schemaRoot, 'istio', 'istiooperator-install-v1alpha1.json'),
  ].filter((f) => !existsSync(f));
  if (missing.length === 0) return true;
  const hint = `kubeconform schemas missing (${missing[0]}): run \`bash scripts/install-tools.sh\``;
  if (process.env['CI'] === 'true') throw new Error(`${hint} (CI=true: not skipping)`);
  t.skip(hint);
  return false;
}

interface KubeconformResource {
  filename: string;
  kind: string;
  name: string;
  version: string;
  status: string;
  msg: string;
}

async function kubeconform(
  bin: string,
  k8sVersion: string,
  paths: string[],
): Promise<{ code: number; resources: KubeconformResource[]; raw: string }> {
  const args = [
    '-strict', // unknown fields and duplicate keys are errors
    '-summary',
    '-output',
    'json',
    '-verbose', // list valid resources too
    '-kubernetes-version',
    k8sVersion,
    // Not a Kubernetes object (kustomize reads it); checked by its own test below.
    '-ignore-filename-pattern',
    'kustomization\\.ya?ml$',
    // Local schemas only: a missing schema is an error (no -ignore-missing-schemas), and nothing
    // is fetched from the network.
    '-schema-location',
    join(
      schemaRoot,
      'kubernetes',
      '{{ .NormalizedKubernetesVersion }}-local{{ .StrictSuffix }}',
      '{{ .ResourceKind }}{{ .KindSuffix }}.json',
    ),
    '-schema-location',
    join(schemaRoot, 'istio', '{{ .ResourceKind }}{{ .KindSuffix }}.json'),
    ...paths,
  ];
  let stdout: string;
  let code = 0;
  try {
    ({ stdout } = await run(bin, args, { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }));
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    code = e.code;
    stdout = e.stdout ?? '';
    if (stdout === '') throw new Error(`kubeconform failed: ${e.stderr ?? ''}`);
  }
  const parsed = JSON.parse(stdout) as { resources?: KubeconformResource[] };
  return { code, resources: parsed.resources ?? [], raw: stdout };
}

// --- kubeconform ---------------------------------------------------------------------------------

for (const version of k8sVersions) {
  test(`deploy/ validates with kubeconform -strict (Kubernetes ${version}, istio.io/api ${pinned('ISTIO_API_VERSION')})`, async (t) => {
    const bin = requireTool(t, 'kubeconform');
    if (bin === undefined || !requireSchemas(t)) return;
    const { code, resources, raw } = await kubeconform(bin, version, [k8sDir, istioDir]);
    const bad = resources.filter((r) => r.status !== 'statusValid');
    assert.deepEqual(bad, [], `kubeconform:\n${raw}`);
    assert.equal(code, 0, raw);
    // Every object was checked against a schema (none skipped, none missed).
    assert.equal(
      resources.length,
      all.length,
      `kubeconform saw ${resources.length} objects, deploy/ has ${all.length}:\n${raw}`,
    );
    const kinds = new Set(resources.map((r) => r.kind));
    for (const kind of [
      'Namespace',
      'ServiceAccount',
      'ConfigMap',
      'Deployment',
      'Service',
      'PodDisruptionBudget',
      'HorizontalPodAutoscaler',
      'NetworkPolicy',
      'IstioOperator',
      'AuthorizationPolicy',
      'PeerAuthentication',
    ]) {
      assert.ok(kinds.has(kind), `no ${kind} validated`);
    }
  });
}

const broken: Record<string, { yaml: string; error: RegExp }> = {
  'a typo in a Deployment field (readinesProbe)': {
    yaml: `apiVersion: apps/v1
kind: Deployment
metadata: { name: broken }
spec:
  selector: { matchLabels: { app: broken } }
  template:
    metadata: { labels: { app: broken } }
    spec:
      containers:
        - name: broken
          image: gatehouse:0.1.0
          readinesProbe: { grpc: { port: 9191 } }
`,
    error: /additional properties 'readinesProbe' not allowed/,
  },
  'a wrong type in a Service (port as text)': {
    yaml: `apiVersion: v1
kind: Service
metadata: { name: broken }
spec:
  ports: [{ name: grpc, port: "ninety-one" }]
`,
    error: /\/spec\/ports\/0\/port/,
  },
  'an unknown AuthorizationPolicy action (Istio CRD schema)': {
    yaml: `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: broken, namespace: istio-system }
spec:
  action: CUSTOMS
  provider: { name: gatehouse }
`,
    error: /\/spec\/action/,
  },
  'an envoyExtAuthzHttp-only field on envoyExtAuthzGrpc (MeshConfig schema)': {
    yaml: `apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
metadata: { name: broken }
spec:
  meshConfig:
    extensionProviders:
      - name: gatehouse
        envoyExtAuthzGrpc:
          service: gatehouse.gatehouse.svc.cluster.local
          port: 9191
          headersToUpstreamOnAllow: [x-gatehouse-user]
`,
    error: /additional properties 'headersToUpstreamOnAllow' not allowed/,
  },
  'a MeshConfig duration that protojson refuses (500ms)': {
    yaml: `apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
metadata: { name: broken }
spec:
  meshConfig:
    extensionProviders:
      - name: gatehouse
        envoyExtAuthzGrpc: { service: gatehouse.gatehouse.svc.cluster.local, port: 9191, timeout: 500ms }
`,
    error: /\/timeout/,
  },
  'two providers in one extensionProviders entry (a protobuf oneof)': {
    yaml: `apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
metadata: { name: broken }
spec:
  meshConfig:
    extensionProviders:
      - name: gatehouse
        envoyExtAuthzGrpc: { service: a.b.svc.cluster.local, port: 9191 }
        envoyExtAuthzHttp: { service: a.b.svc.cluster.local, port: 9192 }
`,
    error: /extensionProviders\/0/,
  },
};

for (const [what, { yaml, error }] of Object.entries(broken)) {
  test(`kubeconform rejects ${what}`, async (t) => {
    const bin = requireTool(t, 'kubeconform');
    if (bin === undefined || !requireSchemas(t)) return;
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-broken-'));
    try {
      writeFileSync(join(dir, 'broken.yaml'), yaml);
      const { code, resources, raw } = await kubeconform(bin, k8sVersions.at(-1) as string, [dir]);
      assert.notEqual(code, 0, `kubeconform accepted it:\n${raw}`);
      assert.equal(resources.length, 1, raw);
      assert.equal(resources[0]?.status, 'statusInvalid', raw);
      assert.match(resources[0]?.msg ?? '', error);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

// --- the manifests agree with each other and with Gatehouse ---------------------------------------

test('kustomization.yaml lists every manifest and generates what the Deployment mounts', () => {
  const kustomization = yamlDocs(join(k8sDir, 'kustomization.yaml'))[0] as Obj;
  const listed = [...(at(kustomization, 'resources') as string[])].sort();
  assert.deepEqual(
    listed,
    yamlFiles(k8sDir).filter((f) => f !== 'kustomization.yaml'),
  );
  for (const f of listed) assert.ok(existsSync(join(k8sDir, f)), f);
  const generated = [
    ...(at(kustomization, 'configMapGenerator') as Obj[]).map((g) => [
      'configMap',
      g['name'],
      g['files'],
    ]),
    ...(at(kustomization, 'secretGenerator') as Obj[]).map((g) => [
      'secret',
      g['name'],
      g['files'],
    ]),
  ] as [string, string, string[]][];
  const volumes = at(find('Deployment', 'gatehouse'), 'spec.template.spec.volumes') as Obj[];
  for (const [type, name, files] of generated) {
    const key = type === 'configMap' ? 'name' : 'secretName';
    assert.ok(
      volumes.some((v) => (v[type] as Obj | undefined)?.[key] === name),
      `no ${type} volume for generated ${name}`,
    );
    // The generator's inputs are local files that must never be committed.
    const ignored = readFileSync(join(k8sDir, '.gitignore'), 'utf8');
    for (const file of files) {
      const source = file.includes('=') ? (file.split('=')[1] as string) : file;
      const top = source.split('/')[0] as string;
      assert.ok(
        ignored.includes(`/${source}`) || ignored.includes(`/${top}/`),
        `${source} is not in deploy/kubernetes/.gitignore`,
      );
    }
  }
});

test('the ConfigMap holds a config Gatehouse accepts, and the pod mounts what it names', () => {
  const text = (at(find('ConfigMap', 'gatehouse-config'), 'data') as Record<string, string>)[
    'config.yaml'
  ] as string;
  const deployment = find('Deployment', 'gatehouse');
  const container = (at(deployment, 'spec.template.spec.containers') as Obj[])[0] as Obj;
  const env = container['env'] as { name: string; value: string }[];
  const configPath = env.find((e) => e.name === 'GATEHOUSE_CONFIG')?.value;
  const mounts = container['volumeMounts'] as { mountPath: string }[];
  assert.ok(
    configPath !== undefined && mounts.some((m) => m.mountPath === dirname(configPath)),
    'GATEHOUSE_CONFIG is not in a mounted folder',
  );

  // Every absolute path in the config lies under a mount.
  const paths = [...text.matchAll(/(\/etc\/gatehouse\/[\w./-]+)/g)].map((m) => m[1] as string);
  assert.ok(paths.length >= 4, 'expected policy, secrets and key paths');
  for (const p of paths)
    assert.ok(
      mounts.some((m) => p.startsWith(`${m.mountPath}/`)),
      `${p} is not under a volumeMount`,
    );

  // Gatehouse's own validator (unknown keys, types, secrets read) with the files stood in for.
  const root = mkdtempSync(join(tmpdir(), 'gatehouse-k8s-config-'));
  try {
    for (const p of paths) {
      const local = join(root, p);
      mkdirSync(dirname(local), { recursive: true });
      // The store URL must look like one (src/config/session-store.ts); other files are opaque.
      writeFileSync(
        local,
        p.endsWith('/redis-url') ? 'rediss://gatehouse:x@redis.gatehouse.svc:6380' : 'x'.repeat(48),
      );
    }
    const config = parseConfig(
      text.replaceAll('/etc/gatehouse/', `${root}/etc/gatehouse/`),
      root,
      'deploy/kubernetes/configmap.yaml',
    );
    assert.equal(config.grpc.port, 9191);
    assert.equal(config.http.port, 9192);
    assert.equal(
      config.http.address,
      '0.0.0.0',
      'the kubelet and Prometheus reach the HTTP listener on the pod IP',
    );

    // terminationGracePeriodSeconds covers drain + in-flight grace.
    const grace = at(deployment, 'spec.template.spec.terminationGracePeriodSeconds') as number;
    assert.ok(
      grace * 1000 >= config.grpc.drain_delay_ms + config.grpc.shutdown_grace_ms + 2000,
      `terminationGracePeriodSeconds ${grace}s < drain ${config.grpc.drain_delay_ms}ms + grace ${config.grpc.shutdown_grace_ms}ms + 2s`,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('the Deployment is hardened, probed and spread', () => {
  const d = find('Deployment', 'gatehouse');
  assert.equal(at(d, 'spec.replicas'), 3);
  const pod = at(d, 'spec.template.spec') as Obj;
  assert.equal(at(pod, 'securityContext.runAsNonRoot'), true);
  assert.ok((at(pod, 'securityContext.runAsUser') as number) > 0);
  assert.equal(at(pod, 'securityContext.seccompProfile.type'), 'RuntimeDefault');
  assert.equal(pod['automountServiceAccountToken'], false);
  assert.ok((pod['topologySpreadConstraints'] as Obj[]).length >= 2);
  const c = (pod['containers'] as Obj[])[0] as Obj;
  assert.equal(at(c, 'securityContext.readOnlyRootFilesystem'), true);
  assert.equal(at(c, 'securityContext.allowPrivilegeEscalation'), false);
  assert.deepEqual(at(c, 'securityContext.capabilities.drop'), ['ALL']);
  for (const k of ['requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory'])
    at(c, `resources.${k}`);
  assert.equal(at(c, 'readinessProbe.grpc.port'), 9191);
  assert.equal(at(c, 'livenessProbe.httpGet.path'), '/healthz');
  assert.equal(at(c, 'startupProbe.httpGet.path'), '/readyz');
  const ports = c['ports'] as { name: string; containerPort: number }[];
  assert.deepEqual(ports.map((p) => p.containerPort).sort(), [9191, 9192]);
  // The secrets are mounted as files, readable by the pod's group only.
  const secretVolume = (pod['volumes'] as Obj[]).find((v) => v['secret'] !== undefined) as Obj;
  assert.equal(at(secretVolume, 'secret.defaultMode'), 0o440);
});

test('Service, PDB, HPA and NetworkPolicy select the pods and use the right ports', () => {
  const podLabels = at(find('Deployment', 'gatehouse'), 'spec.template.metadata.labels') as Record<
    string,
    string
  >;
  const matches = (selector: Record<string, string>): boolean =>
    Object.entries(selector).every(([k, v]) => podLabels[k] === v);

  const svc = find('Service', 'gatehouse');
  assert.equal(at(svc, 'spec.type'), 'ClusterIP');
  assert.ok(matches(at(svc, 'spec.selector') as Record<string, string>));
  const grpc = (at(svc, 'spec.ports') as Obj[]).find((p) => p['port'] === 9191) as Obj;
  assert.equal(grpc['appProtocol'], 'grpc');
  assert.ok(
    matches(at(find('PodDisruptionBudget'), 'spec.selector.matchLabels') as Record<string, string>),
  );
  assert.ok(
    matches(at(find('NetworkPolicy'), 'spec.podSelector.matchLabels') as Record<string, string>),
  );

  const hpa = find('HorizontalPodAutoscaler');
  assert.equal(at(hpa, 'spec.scaleTargetRef.name'), 'gatehouse');
  assert.ok((at(hpa, 'spec.minReplicas') as number) >= 3);
  assert.equal(at(hpa, 'spec.metrics.0.resource.name'), 'cpu');

  const ingressPorts = (at(find('NetworkPolicy'), 'spec.ingress') as Obj[]).flatMap((r) =>
    (r['ports'] as Obj[]).map((p) => p['port']),
  );
  assert.deepEqual([...new Set(ingressPorts)].sort(), [9191, 9192]);
});

test('the Istio provider points at the Service, and every CUSTOM policy names it', () => {
  const providers = at(find('IstioOperator'), 'spec.meshConfig.extensionProviders') as Obj[];
  const provider = providers.find((p) => p['name'] === 'gatehouse') as Obj;
  const svc = find('Service', 'gatehouse');
  assert.equal(
    at(provider, 'envoyExtAuthzGrpc.service'),
    `${at(svc, 'metadata.name') as string}.${at(svc, 'metadata.namespace') as string}.svc.cluster.local`,
  );
  assert.equal(at(provider, 'envoyExtAuthzGrpc.port'), 9191);
  assert.equal(at(provider, 'envoyExtAuthzGrpc.failOpen'), false);
  at(provider, 'envoyExtAuthzGrpc.includeRequestBodyInCheck.maxRequestBytes');
  const custom = all.filter(
    (o) => o['kind'] === 'AuthorizationPolicy' && at(o, 'spec.action') === 'CUSTOM',
  );
  assert.ok(custom.length >= 2);
  for (const policy of custom) {
    assert.equal(
      at(policy, 'spec.provider.name'),
      'gatehouse',
      `${at(policy, 'metadata.name') as string}`,
    );
    at(policy, 'spec.selector.matchLabels'); // scoped to a workload, never mesh-wide by accident
  }
});

// --- Dockerfile ----------------------------------------------------------------------------------

interface Instruction {
  op: string;
  args: string;
  line: number;
}

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function dockerfile(): Instruction[] {
  const out: Instruction[] = [];
  const lines = readFileSync(repoPath('Dockerfile'), 'utf8').split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    const start = i;
    let text = lines[i] as string;
    if (/^\s*(#|$)/.test(text)) continue;
    while (text.endsWith('\\') && i + 1 < lines.length) {
      i += 1;
      const next = lines[i] as string;
      if (/^\s*#/.test(next)) continue;
      text = `${text.slice(0, -1)} ${next.trim()}`;
    }
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(text);
    assert.ok(m, `Dockerfile:${start + 1}: cannot parse ${text}`);
    out.push({
      op: (m[1] as string).toUpperCase(),
      args: (m[2] as string).trim(),
      line: start + 1,
    });
  }
  return out;
}

test('Dockerfile: multi-stage, pinned bases, non-root, only the runtime files', () => {
  const ins = dockerfile();
  const froms = ins.filter((i) => i.op === 'FROM');
  assert.ok(froms.length >= 2, 'not multi-stage');
  const node = pinned('NODE_VERSION');
  for (const from of froms) {
    const image = from.args.split(/\s+/)[0] as string;
    assert.match(
      image,
      /^[\w./-]+:[\w.-]+(@sha256:[0-9a-f]{64})?$/,
      `Dockerfile:${from.line}: base image without a tag`,
    );
    assert.doesNotMatch(
      image,
      /:(latest|lts|current|24|24-[a-z-]+)$/,
      `Dockerfile:${from.line}: floating tag ${image}`,
    );
    assert.ok(
      image.startsWith(`node:${node}-`),
      `Dockerfile:${from.line}: ${image} is not Node ${node} (install-tools.sh NODE_VERSION)`,
    );
    assert.match(from.args, /\s+AS\s+\w+$/i, `Dockerfile:${from.line}: unnamed stage`);
  }
  assert.ok(
    !ins.some((i) => i.op === 'ADD'),
    'use COPY, not ADD (no remote URLs, no auto-extraction)',
  );
  assert.ok(
    !ins.some((i) => /https?:\/\//.test(i.args) && i.op !== 'LABEL'),
    'nothing fetched by URL in the build',
  );

  const lastFrom = ins.lastIndexOf(froms.at(-1) as Instruction);
  const build = ins.slice(0, lastFrom);
  const runtime = ins.slice(lastFrom + 1);
  const buildRuns = build
    .filter((i) => i.op === 'RUN')
    .map((i) => i.args)
    .join('\n');
  assert.match(buildRuns, /npm ci\b/);
  assert.match(buildRuns, /tsc -p tsconfig\.json/);
  assert.match(buildRuns, /npm prune --omit=dev/);

  // Runtime: the compiled service, production node_modules and proto; no sources, no dev tools.
  const copies = runtime.filter((i) => i.op === 'COPY');
  assert.ok(
    copies.every((c) => c.args.startsWith('--from=')),
    'the runtime stage copies only from the build stage',
  );
  const sources = copies
    .map((c) => (c.args.split(/\s+/)[1] as string).replace(/^\/src\//, ''))
    .sort();
  assert.deepEqual(sources, ['dist/src', 'node_modules', 'package.json', 'proto']);
  assert.ok(
    !runtime.some((i) => i.op === 'RUN' && /npm (ci|install)/.test(i.args)),
    'no installs at run time',
  );

  const users = runtime.filter((i) => i.op === 'USER');
  assert.equal(users.length, 1);
  const [uid, gid] = (users[0] as Instruction).args.split(':');
  assert.match(
    uid ?? '',
    /^[1-9]\d*$/,
    'USER must be a numeric non-root uid (runAsNonRoot can verify it)',
  );
  assert.match(gid ?? '', /^[1-9]\d*$/);
  const podUid = at(
    find('Deployment', 'gatehouse'),
    'spec.template.spec.securityContext.runAsUser',
  );
  assert.equal(Number(uid), podUid, 'image USER and the pod runAsUser agree');
  assert.ok(
    ins.findIndex((i) => i.op === 'USER') > ins.findIndex((i) => i === copies.at(-1)),
    'USER comes after the files are in place',
  );

  assert.deepEqual(
    ins
      .filter((i) => i.op === 'EXPOSE')
      .flatMap((i) => i.args.split(/\s+/))
      .sort(),
    ['9191', '9192'],
  );
  const entrypoint = JSON.parse(
    (runtime.find((i) => i.op === 'ENTRYPOINT') as Instruction).args,
  ) as string[];
  assert.deepEqual(entrypoint, ['node', ...NODE_FLAGS, '/app/dist/src/cli/main.js']);
  const pkg = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as {
    bin: { gatehouse: string };
  };
  assert.equal(entrypoint.at(-1), `/app/${pkg.bin.gatehouse}`, 'ENTRYPOINT runs the package bin');
  assert.deepEqual(JSON.parse((runtime.find((i) => i.op === 'CMD') as Instruction).args), [
    'serve',
  ]);
});

test('.dockerignore keeps the build context to what the Dockerfile copies', () => {
  const lines = readFileSync(repoPath('.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  assert.equal(lines[0], '*', 'start from nothing (allow-list)');
  const allowed = lines
    .filter((l) => l.startsWith('!'))
    .map((l) => l.slice(1).replace(/\/$/, ''))
    .sort();
  assert.deepEqual(allowed, ['package-lock.json', 'package.json', 'proto', 'src', 'tsconfig.json']);
  // Every build-stage COPY source is in the context.
  for (const c of dockerfile().filter((i) => i.op === 'COPY' && !i.args.startsWith('--from='))) {
    for (const src of c.args.split(/\s+/).slice(0, -1))
      assert.ok(
        allowed.includes(src.replace(/\/$/, '')),
        `COPY ${src} is excluded by .dockerignore`,
      );
  }
});
