import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { create } from '@bufbuild/protobuf';
import { anonymousRuntime } from '../../../src/identity/anonymous.js';
import { createCheckHandler, type CheckDeps } from '../../../src/check/handle.js';
import type { DeviceOptions } from '../../../src/device/resolve.js';
import { CheckRequestSchema } from '../../../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import type { PolicyInput } from '../../../src/input/types.js';
import { createLogger } from '../../../src/log/logger.js';
import { DeviceCa } from '../../support/device-certs.js';

/** The Check path hands `input.device` to the policy, only when `device` is configured. */

const company = new DeviceCa('Acme');
const other = new DeviceCa('Evil');
const laptop = company.issue({ subject: '/CN=laptop-1' });
const forged = other.issue({ subject: '/CN=laptop-1' });

function handler(device: DeviceOptions | undefined, lines: string[]) {
  const seen: PolicyInput[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  const deps: CheckDeps = {
    // A policy that requires a certificate Gatehouse verified.
    policy: () => ({
      revision: 'test',
      evaluate: (input: unknown) => {
        seen.push(input as PolicyInput);
        return (input as PolicyInput).device?.certificate?.verified === true;
      },
    }),
    identity: anonymousRuntime(),
    log: createLogger({ level: 'info', destination: sink }),
    ...(device === undefined ? {} : { device }),
  };
  return { check: createCheckHandler(deps), seen };
}

function request(pem: string | undefined) {
  return create(CheckRequestSchema, {
    attributes: {
      source: { certificate: pem === undefined ? '' : encodeURIComponent(pem) },
      request: { http: { method: 'GET', path: '/x', host: 'app.test', headers: {} } },
    },
  });
}

const trust: DeviceOptions = {
  trust: { anchors: [new X509Certificate(company.pem)], requireClientAuth: true },
  xfccTrusted: false,
};

test('without the device section there is no input.device', async () => {
  const { check, seen } = handler(undefined, []);
  const outcome = await check(request(laptop.pem));
  assert.equal(outcome.response.httpResponse.case, 'deniedResponse');
  assert.equal(seen[0] !== undefined && 'device' in seen[0], false);
});

test('a verified device certificate reaches the policy; the policy allows', async () => {
  const { check, seen } = handler(trust, []);
  const outcome = await check(request(laptop.pem));
  assert.equal(outcome.response.httpResponse.case, 'okResponse');
  assert.equal(seen[0]?.device?.certificate?.subject, 'CN=laptop-1');
});

test('hostile: a refused certificate is not shown to the policy, and the refusal is logged', async () => {
  const lines: string[] = [];
  const { check, seen } = handler(trust, lines);
  const outcome = await check(request(forged.pem));
  assert.equal(outcome.response.httpResponse.case, 'deniedResponse');
  assert.deepEqual(seen[0]?.device, {
    certificate: null,
    certificate_error: { code: 'ERR_DEVICE_CERT_UNTRUSTED', source: 'peer' },
    session_bound: false,
  });
  const refusal = lines
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((l) => l['msg'] === 'client certificate refused');
  assert.equal(refusal?.['code'], 'ERR_DEVICE_CERT_UNTRUSTED');
});
