#!/usr/bin/env node
// Builds the JSON schemas kubeconform validates deploy/ against, offline, from packages fetched
// through the package registries (scripts/install-tools.sh fetches them; nothing here touches
// the network):
//
//   kubernetes  Kubernetes' own schemas, as shipped in the PyPI wheel `kubernetes-validate`
//               (kubernetes_validate/kubernetes-json-schema/v<X.Y.Z>-local-strict/). They are
//               kubeconform-shaped already ({kind}-{group}-{version}.json, `additionalProperties:
//               false` everywhere in the -strict flavour) but refer to `/api/_definitions.json`
//               below an `$id` on kubernetes.io, which a file loader cannot follow: we drop the
//               `$id`s and make the references relative.
//
//   istio       Istio's CRDs (AuthorizationPolicy, PeerAuthentication, ...) from the Go module
//               istio.io/api (kubernetes/customresourcedefinitions.gen.yaml): each version's
//               openAPIV3Schema becomes {kind}-{group}-{version}.json, made strict like
//               openapi2jsonschema --strict does (unknown fields are errors unless the CRD says
//               x-kubernetes-preserve-unknown-fields).
//               Plus MeshConfig, which is no CRD: mesh/v1alpha1/config.proto is compiled with
//               `buf build` into a descriptor set and turned into a JSON schema that follows
//               protojson (Istio reads mesh config strictly through protojson: unknown fields are
//               errors; both json and proto field names are accepted). It is published as the
//               schema of `IstioOperator` (install.istio.io/v1alpha1), whose `spec.meshConfig` is
//               checked field by field and whose other `spec` keys are left unchecked.
//
// Usage:
//   node scripts/kube-schemas.mjs kubernetes --src DIR --out DIR
//        DIR --src: an extracted v<X.Y.Z>-local-strict folder of the kubernetes-validate wheel
//   node scripts/kube-schemas.mjs istio --api DIR --buf BUF --out DIR
//        --api: the istio.io/api module folder (`go mod download -json istio.io/api@vX` → Dir)
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseAllDocuments } from 'yaml';

function die(message) {
  process.stderr.write(`kube-schemas: ${message}\n`);
  process.exit(1);
}

// --- Kubernetes ----------------------------------------------------------------------------------

function kubernetes({ src, out }) {
  if (!src || !out) die('kubernetes: --src and --out are required');
  mkdirSync(out, { recursive: true });
  let count = 0;
  for (const name of readdirSync(src)) {
    if (!name.endsWith('.json')) continue;
    const schema = JSON.parse(readFileSync(join(src, name), 'utf8'));
    delete schema.$id;
    const text = JSON.stringify(schema).replaceAll(
      '"/api/_definitions.json#',
      '"_definitions.json#',
    );
    if (text.includes('"/api/')) die(`kubernetes: ${name} still has an absolute /api/ reference`);
    writeFileSync(join(out, name), text);
    count += 1;
  }
  if (count < 100) die(`kubernetes: only ${count} schemas in ${src}`);
  process.stdout.write(`kube-schemas: ${count} Kubernetes schemas -> ${out}\n`);
}

// --- Istio CRDs ----------------------------------------------------------------------------------

/** OpenAPI v3 (structural CRD schema) → JSON schema draft 4, strict like openapi2jsonschema. */
function crdToJsonSchema(node) {
  if (Array.isArray(node)) return node.map(crdToJsonSchema);
  if (node === null || typeof node !== 'object') return node;
  const out = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'properties' || key === 'patternProperties' || key === 'definitions') {
      out[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, crdToJsonSchema(v)]));
    } else if (key === 'x-kubernetes-int-or-string') {
      // handled below
    } else {
      out[key] = crdToJsonSchema(value);
    }
  }
  if (node['x-kubernetes-int-or-string'] === true) {
    delete out.type;
    out.oneOf = [{ type: 'string' }, { type: 'integer' }];
  }
  if (node.nullable === true && typeof out.type === 'string') out.type = [out.type, 'null'];
  const isObject =
    out.type === 'object' || (Array.isArray(out.type) && out.type.includes('object'));
  if (
    isObject &&
    out.properties !== undefined &&
    out.additionalProperties === undefined &&
    node['x-kubernetes-preserve-unknown-fields'] !== true
  ) {
    out.additionalProperties = false;
  }
  return out;
}

function istioCrds(apiDir, out) {
  const file = join(apiDir, 'kubernetes', 'customresourcedefinitions.gen.yaml');
  let count = 0;
  for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
    const crd = doc.toJS();
    if (crd?.kind !== 'CustomResourceDefinition') continue;
    const { group, names } = crd.spec;
    for (const version of crd.spec.versions) {
      const openapi = version.schema?.openAPIV3Schema;
      if (openapi === undefined) continue;
      const schema = crdToJsonSchema(openapi);
      schema.type = 'object';
      schema.properties = {
        apiVersion: { type: 'string', enum: [`${group}/${version.name}`] },
        kind: { type: 'string', enum: [names.kind] },
        metadata: { type: 'object' },
        ...schema.properties,
      };
      schema.required = ['apiVersion', 'kind', 'metadata', ...(schema.required ?? [])];
      schema.additionalProperties = false;
      schema.description =
        `${names.kind} (${group}/${version.name}) from istio.io/api ${process.env.ISTIO_API_VERSION ?? ''}`.trim();
      const name = `${names.kind.toLowerCase()}-${group.split('.')[0]}-${version.name}.json`;
      writeFileSync(join(out, name), JSON.stringify(schema));
      count += 1;
    }
  }
  if (count < 10) die(`istio: only ${count} CRD versions in ${file}`);
  return count;
}

// --- MeshConfig (protobuf descriptors → JSON schema, protojson rules) ----------------------------

const INT32 = new Set(['TYPE_INT32', 'TYPE_SINT32', 'TYPE_SFIXED32']);
const UINT32 = new Set(['TYPE_UINT32', 'TYPE_FIXED32']);
const INT64 = new Set([
  'TYPE_INT64',
  'TYPE_SINT64',
  'TYPE_SFIXED64',
  'TYPE_UINT64',
  'TYPE_FIXED64',
]);

// protojson's forms of the well-known types.
const WELL_KNOWN = {
  '.google.protobuf.Duration': {
    type: 'string',
    pattern: '^-?[0-9]+(\\.[0-9]{1,9})?s$',
    description: 'A duration such as 0.5s or 30s',
  },
  '.google.protobuf.Timestamp': { type: 'string', format: 'date-time' },
  '.google.protobuf.Struct': { type: 'object' },
  '.google.protobuf.Value': {},
  '.google.protobuf.ListValue': { type: 'array' },
  '.google.protobuf.Any': { type: 'object', required: ['@type'] },
  '.google.protobuf.Empty': { type: 'object', additionalProperties: false },
  '.google.protobuf.FieldMask': { type: 'string' },
  '.google.protobuf.BoolValue': { type: 'boolean' },
  '.google.protobuf.StringValue': { type: 'string' },
  '.google.protobuf.BytesValue': { type: 'string' },
  '.google.protobuf.DoubleValue': {
    oneOf: [{ type: 'number' }, { enum: ['NaN', 'Infinity', '-Infinity'] }],
  },
  '.google.protobuf.FloatValue': {
    oneOf: [{ type: 'number' }, { enum: ['NaN', 'Infinity', '-Infinity'] }],
  },
  '.google.protobuf.Int32Value': {
    oneOf: [{ type: 'integer' }, { type: 'string', pattern: '^-?[0-9]+$' }],
  },
  '.google.protobuf.UInt32Value': {
    oneOf: [
      { type: 'integer', minimum: 0 },
      { type: 'string', pattern: '^[0-9]+$' },
    ],
  },
  '.google.protobuf.Int64Value': {
    oneOf: [{ type: 'integer' }, { type: 'string', pattern: '^-?[0-9]+$' }],
  },
  '.google.protobuf.UInt64Value': {
    oneOf: [
      { type: 'integer', minimum: 0 },
      { type: 'string', pattern: '^[0-9]+$' },
    ],
  },
};

function indexDescriptors(fileSet) {
  const messages = new Map();
  const enums = new Map();
  const walk = (prefix, msgs = [], enumTypes = []) => {
    for (const e of enumTypes) enums.set(`${prefix}.${e.name}`, e);
    for (const m of msgs) {
      const fqn = `${prefix}.${m.name}`;
      messages.set(fqn, m);
      walk(fqn, m.nestedType, m.enumType);
    }
  };
  for (const file of fileSet.file)
    walk(file.package ? `.${file.package}` : '', file.messageType, file.enumType);
  return { messages, enums };
}

function meshConfigSchema(fileSet, root) {
  const { messages, enums } = indexDescriptors(fileSet);
  const definitions = {};
  const ref = (fqn) => ({ $ref: `#/definitions/${fqn.slice(1)}` });

  const scalar = (field) => {
    const t = field.type;
    if (t === 'TYPE_STRING' || t === 'TYPE_BYTES') return { type: 'string' };
    if (t === 'TYPE_BOOL') return { type: 'boolean' };
    if (INT32.has(t))
      return { oneOf: [{ type: 'integer' }, { type: 'string', pattern: '^-?[0-9]+$' }] };
    if (UINT32.has(t))
      return {
        oneOf: [
          { type: 'integer', minimum: 0 },
          { type: 'string', pattern: '^[0-9]+$' },
        ],
      };
    if (INT64.has(t))
      return { oneOf: [{ type: 'integer' }, { type: 'string', pattern: '^-?[0-9]+$' }] };
    if (t === 'TYPE_DOUBLE' || t === 'TYPE_FLOAT')
      return { oneOf: [{ type: 'number' }, { enum: ['NaN', 'Infinity', '-Infinity'] }] };
    if (t === 'TYPE_ENUM') {
      const e = enums.get(field.typeName);
      if (e === undefined) die(`istio: unknown enum ${field.typeName}`);
      return { oneOf: [{ type: 'string', enum: e.value.map((v) => v.name) }, { type: 'integer' }] };
    }
    if (t === 'TYPE_MESSAGE') return message(field.typeName);
    die(`istio: unsupported field type ${t}`);
  };

  const message = (fqn) => {
    if (WELL_KNOWN[fqn] !== undefined) return WELL_KNOWN[fqn];
    const key = fqn.slice(1);
    if (definitions[key] !== undefined) return ref(fqn);
    const m = messages.get(fqn);
    if (m === undefined) die(`istio: unknown message ${fqn}`);
    const schema = { type: 'object', properties: {}, additionalProperties: false };
    definitions[key] = schema; // before recursing: messages refer to themselves
    const oneofs = new Map();
    for (const field of m.field ?? []) {
      let value;
      const entry = field.type === 'TYPE_MESSAGE' ? messages.get(field.typeName) : undefined;
      if (entry?.options?.mapEntry === true) {
        const valueField = entry.field.find((f) => f.name === 'value');
        value = { type: 'object', additionalProperties: scalar(valueField) };
      } else if (field.label === 'LABEL_REPEATED') {
        value = { type: 'array', items: scalar(field) };
      } else {
        value = scalar(field);
      }
      if (field.options?.deprecated === true) value = { ...value, deprecated: true };
      const jsonName = field.jsonName ?? field.name;
      schema.properties[jsonName] = value;
      // protojson accepts the proto field name too.
      if (field.name !== jsonName) schema.properties[field.name] = value;
      if (field.oneofIndex !== undefined && field.proto3Optional !== true) {
        const names = oneofs.get(field.oneofIndex) ?? [];
        names.push(jsonName);
        oneofs.set(field.oneofIndex, names);
      }
    }
    // A oneof holds at most one of its fields.
    const pairs = [];
    for (const names of oneofs.values()) {
      for (let i = 0; i < names.length; i += 1) {
        for (let j = i + 1; j < names.length; j += 1)
          pairs.push({ required: [names[i], names[j]] });
      }
    }
    if (pairs.length > 0) schema.not = { anyOf: pairs };
    return ref(fqn);
  };

  message(root);
  return definitions;
}

function istio({ api, buf, out }) {
  if (!api || !buf || !out) die('istio: --api, --buf and --out are required');
  mkdirSync(out, { recursive: true });
  const crds = istioCrds(api, out);

  // buf needs a writable workspace with every import: the module's protos plus google/api.
  const work = mkdtempSync(join(tmpdir(), 'gatehouse-istio-proto-'));
  try {
    for (const dir of ['mesh', 'networking', 'type'])
      cpSync(join(api, dir), join(work, dir), {
        recursive: true,
        filter: (p) => !/\.(go|html|json|yaml|md)$/.test(p),
      });
    cpSync(join(api, 'common-protos', 'google', 'api'), join(work, 'google', 'api'), {
      recursive: true,
    });
    execFileSync('chmod', ['-R', 'u+w', work]);
    writeFileSync(join(work, 'buf.yaml'), 'version: v2\n');
    const image = join(work, 'image.json');
    execFileSync(resolve(buf), ['build', '--path', 'mesh/v1alpha1/config.proto', '-o', image], {
      cwd: work,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const definitions = meshConfigSchema(
      JSON.parse(readFileSync(image, 'utf8')),
      '.istio.mesh.v1alpha1.MeshConfig',
    );
    const meshRef = { $ref: '#/definitions/istio.mesh.v1alpha1.MeshConfig' };
    const version = process.env.ISTIO_API_VERSION ?? '';
    // MeshConfig alone (e.g. the `mesh` key of the istio ConfigMap, or Helm's meshConfig value).
    writeFileSync(
      join(out, 'meshconfig.json'),
      JSON.stringify({
        description: `istio.mesh.v1alpha1.MeshConfig from istio.io/api ${version}`,
        ...meshRef,
        definitions,
      }),
    );
    // IstioOperator: spec.meshConfig checked strictly; the rest of spec is not checked here.
    const operator = {
      description: `IstioOperator (install.istio.io/v1alpha1): spec.meshConfig is istio.mesh.v1alpha1.MeshConfig from istio.io/api ${version}; other spec keys are not checked`,
      type: 'object',
      required: ['apiVersion', 'kind', 'spec'],
      additionalProperties: false,
      properties: {
        apiVersion: { type: 'string', enum: ['install.istio.io/v1alpha1'] },
        kind: { type: 'string', enum: ['IstioOperator'] },
        metadata: { type: 'object' },
        spec: { type: 'object', properties: { meshConfig: meshRef } },
        status: { type: 'object' },
      },
      definitions,
    };
    writeFileSync(join(out, 'istiooperator-install-v1alpha1.json'), JSON.stringify(operator));
    process.stdout.write(
      `kube-schemas: ${crds} Istio CRD schemas + MeshConfig (${Object.keys(definitions).length} messages) -> ${out}\n`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

// --- main ----------------------------------------------------------------------------------------

const [command, ...rest] = process.argv.slice(2);
const { values } = parseArgs({
  args: rest,
  options: {
    src: { type: 'string' },
    out: { type: 'string' },
    api: { type: 'string' },
    buf: { type: 'string' },
  },
  strict: true,
});
if (command === 'kubernetes') kubernetes(values);
else if (command === 'istio') istio(values);
else
  die(
    'usage: kube-schemas.mjs kubernetes --src DIR --out DIR | istio --api DIR --buf BUF --out DIR',
  );
