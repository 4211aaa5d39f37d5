import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { DEFAULT_BUNDLE_LIMITS, readBundle } from '../../../src/policy/bundle.js';
import { hasCode } from '../../../src/errors/gatehouse-error.js';
import { normaliseTarPath, readTar, TarFormatError } from '../../../src/policy/tar.js';
import { paxRecord, tar, tgz, WASM_STUB, type Member } from './tar-writer.js';

const manifest = (extra: Record<string, unknown> = {}): string =>
  JSON.stringify({
    revision: 'rev-1',
    roots: [''],
    wasm: [{ entrypoint: 'envoy/authz/allow', module: '/policy.wasm' }],
    ...extra,
  });

describe('readTar', () => {
  test('reads ustar, prefix, PAX path and GNU long names', () => {
    const long = `${'d'.repeat(120)}/file.json`;
    const entries = readTar(
      tar([
        { name: '/policy.wasm', data: WASM_STUB },
        { name: 'dir/', type: '5' },
        { name: 'a/b/c/data.json', data: '{}', usePrefix: true },
        { name: 'PaxHeader', type: 'x', data: paxRecord('path', long) },
        { name: 'truncated-name', data: 'pax' },
        { name: '././@LongLink', type: 'L', data: `gnu/${'g'.repeat(150)}\0` },
        { name: 'short', data: 'gnu' },
        { name: 'link', type: '2' },
      ]),
    );
    assert.deepEqual(
      entries.map((e) => [e.path, Buffer.from(e.data).toString()]),
      [
        ['policy.wasm', Buffer.from(WASM_STUB).toString()],
        ['a/b/c/data.json', '{}'],
        [long, 'pax'],
        [`gnu/${'g'.repeat(150)}`, 'gnu'],
      ],
    );
  });

  test('PAX size overrides the header size', () => {
    const entries = readTar(
      tar([
        { name: 'p', type: 'x', data: paxRecord('size', '3') },
        { name: 'f', data: 'abc' },
      ]),
    );
    assert.equal(Buffer.from(entries[0]?.data ?? []).toString(), 'abc');
  });

  const hostile: Array<[string, Member[], RegExp]> = [
    ['dot-dot segment', [{ name: '../evil', data: 'x' }], /traversal/],
    ['nested dot-dot', [{ name: 'a/../../evil', data: 'x' }], /traversal/],
    [
      'dot-dot via PAX path',
      [
        { name: 'p', type: 'x', data: paxRecord('path', '../../etc/passwd') },
        { name: 'ok', data: 'x' },
      ],
      /traversal/,
    ],
    [
      'dot-dot via GNU long name',
      [
        { name: '././@LongLink', type: 'L', data: '../x\0' },
        { name: 'ok', data: 'x' },
      ],
      /traversal/,
    ],
    ['dot-dot on a skipped symlink', [{ name: '../link', type: '2' }], /traversal/],
    ['backslash', [{ name: '..\\evil', data: 'x' }], /unsafe path/],
    ['bad checksum', [{ name: 'f', data: 'x', badChecksum: true }], /checksum/],
    ['non-octal size', [{ name: 'f', data: 'x', sizeField: '12x\0' }], /invalid size/],
  ];
  for (const [name, members, message] of hostile) {
    test(`rejects ${name}`, () => {
      assert.throws(
        () => readTar(tar(members)),
        (err: unknown) => err instanceof TarFormatError && message.test(err.message),
      );
    });
  }

  test('rejects a truncated archive', () => {
    const whole = tar([{ name: 'f', data: 'x'.repeat(2000) }]);
    assert.throws(() => readTar(whole.subarray(0, 1024)), /truncated/);
  });

  test('enforces file size and entry count limits', () => {
    assert.throws(
      () =>
        readTar(tar([{ name: 'f', data: 'x'.repeat(100) }]), { maxFileBytes: 99, maxEntries: 10 }),
      /larger than 99/,
    );
    const many = Array.from({ length: 5 }, (_, i) => ({ name: `f${i}`, data: 'x' }));
    assert.throws(
      () => readTar(tar(many), { maxFileBytes: 100, maxEntries: 4 }),
      /more than 4 entries/,
    );
  });

  test('normaliseTarPath strips leading slash and dot segments', () => {
    assert.equal(normaliseTarPath('/./a//b/./c'), 'a/b/c');
  });
});

describe('readBundle', () => {
  test('extracts wasm, manifest and merged data documents', () => {
    const bundle = readBundle(
      tgz([
        { name: '/policy.wasm', data: WASM_STUB },
        { name: '/.manifest', data: manifest() },
        { name: '/data.json', data: '{"a": {"x": 1}}' },
        { name: '/a/y/data.json', data: '{"z": true}' },
        { name: '/roles/data.json', data: '{"admin": ["alice"]}' },
        { name: '/envoy/authz/policy.rego', data: 'package envoy.authz' },
      ]),
    );
    assert.deepEqual([...bundle.wasm], [...WASM_STUB]);
    assert.equal(bundle.manifest?.revision, 'rev-1');
    assert.deepEqual(bundle.manifest?.wasm, [
      { entrypoint: 'envoy/authz/allow', module: '/policy.wasm' },
    ]);
    assert.deepEqual(bundle.data, { a: { x: 1, y: { z: true } }, roles: { admin: ['alice'] } });
  });

  test('a bundle without manifest or data is accepted', () => {
    const bundle = readBundle(tgz([{ name: 'policy.wasm', data: WASM_STUB }]));
    assert.equal(bundle.manifest, undefined);
    assert.deepEqual(bundle.data, {});
  });

  test('uses the module the manifest names', () => {
    const bundle = readBundle(
      tgz([
        {
          name: '/.manifest',
          data: manifest({ wasm: [{ entrypoint: 'a/b', module: '/sub/mod.wasm' }] }),
        },
        { name: '/sub/mod.wasm', data: WASM_STUB },
      ]),
    );
    assert.equal(bundle.wasm.length, WASM_STUB.length);
  });

  const invalid: Array<[string, Uint8Array, RegExp]> = [
    ['not gzip', new TextEncoder().encode('plain text'), /gzip/],
    ['no wasm', tgz([{ name: '/.manifest', data: manifest() }]), /no \/policy\.wasm/],
    ['not wasm', tgz([{ name: '/policy.wasm', data: 'hello' }]), /not a WebAssembly module/],
    [
      'bad manifest JSON',
      tgz([
        { name: '/policy.wasm', data: WASM_STUB },
        { name: '/.manifest', data: '{' },
      ]),
      /\.manifest is not valid JSON/,
    ],
    [
      'manifest revision not a string',
      tgz([
        { name: '/policy.wasm', data: WASM_STUB },
        { name: '/.manifest', data: '{"revision": 1}' },
      ]),
      /revision/,
    ],
    [
      'bad data JSON',
      tgz([
        { name: '/policy.wasm', data: WASM_STUB },
        { name: '/data.json', data: '[' },
      ]),
      /data\.json is not valid JSON/,
    ],
    [
      'root data not an object',
      tgz([
        { name: '/policy.wasm', data: WASM_STUB },
        { name: '/data.json', data: '[1]' },
      ]),
      /must hold a JSON object/,
    ],
    [
      'duplicate member',
      tgz([
        { name: '/policy.wasm', data: WASM_STUB },
        { name: 'policy.wasm', data: WASM_STUB },
      ]),
      /twice/,
    ],
    [
      'path traversal',
      tgz([
        { name: '/policy.wasm', data: WASM_STUB },
        { name: '../../x', data: 'x' },
      ]),
      /traversal/,
    ],
    [
      'two wasm modules',
      tgz([
        { name: '/policy.wasm', data: WASM_STUB },
        {
          name: '/.manifest',
          data: manifest({
            wasm: [
              { entrypoint: 'a', module: '/a.wasm' },
              { entrypoint: 'b', module: '/b.wasm' },
            ],
          }),
        },
      ]),
      /2 wasm modules/,
    ],
  ];
  for (const [name, bytes, message] of invalid) {
    test(`refuses ${name} with ERR_POLICY_LOAD`, () => {
      assert.throws(
        () => readBundle(bytes),
        (err: unknown) => hasCode(err, 'ERR_POLICY_LOAD') && message.test((err as Error).message),
      );
    });
  }

  test('refuses a gzip bomb beyond maxUncompressedBytes', () => {
    const bomb = gzipSync(Buffer.alloc(8 * 1024 * 1024));
    assert.ok(bomb.length < 64 * 1024);
    assert.throws(
      () => readBundle(bomb, { ...DEFAULT_BUNDLE_LIMITS, maxUncompressedBytes: 1024 * 1024 }),
      (err: unknown) => hasCode(err, 'ERR_POLICY_LOAD'),
    );
  });

  test('refuses a bundle larger than maxCompressedBytes', () => {
    const bytes = tgz([{ name: '/policy.wasm', data: WASM_STUB }]);
    assert.throws(
      () => readBundle(bytes, { ...DEFAULT_BUNDLE_LIMITS, maxCompressedBytes: 10 }),
      (err: unknown) => hasCode(err, 'ERR_POLICY_LOAD'),
    );
  });
});
