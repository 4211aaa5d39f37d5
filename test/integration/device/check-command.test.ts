import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CHECK_EXIT, runCheck } from '../../../src/cli/check.js';
import { DeviceCa } from '../../support/device-certs.js';
import { requireTool } from '../../support/tools.js';

/**
 * `gatehouse check` previews a request as the server would decide it: with a `device` section, a
 * request file carrying a peer certificate gets the same `input.device` (verified against the
 * configured CA) and the same decision.
 */
test('gatehouse check fills input.device from the request file’s peer certificate', async (t) => {
  const opa = requireTool(t, 'opa');
  if (opa === undefined) return;
  const company = new DeviceCa('Acme Corp');
  const other = new DeviceCa('Acme Corp');
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-device-check-'));
  writeFileSync(
    join(dir, 'authz.rego'),
    'package envoy.authz\n\nimport rego.v1\n\ndefault allow := false\n\nallow if input.device.certificate.verified == true\n',
  );
  const config = join(dir, 'gatehouse.yaml');
  writeFileSync(
    config,
    `policy:\n  dir: ${dir}\n  opa: ${opa}\n  watch: false\ndevice:\n  certificate:\n    ca_file: ${company.cert}\n`,
  );
  const run = async (pem: string) => {
    const file = join(dir, 'request.json');
    writeFileSync(
      file,
      JSON.stringify({
        attributes: {
          source: { certificate: encodeURIComponent(pem) },
          request: { http: { method: 'GET', path: '/x', host: 'app.example.com' } },
        },
      }),
    );
    let report = '';
    const status = await runCheck(
      { config, request: file, identity: undefined },
      { report: (text) => (report += text), summary: () => undefined },
    );
    return { status, report: JSON.parse(report) as { input: { device?: unknown } } };
  };
  const laptop = await run(company.issue({ subject: '/CN=laptop-1' }).pem);
  assert.equal(laptop.status, CHECK_EXIT.allowed);
  assert.equal(
    (laptop.report.input.device as { certificate: { subject: string } }).certificate.subject,
    'CN=laptop-1',
  );
  const forged = await run(other.issue({ subject: '/CN=laptop-1' }).pem);
  assert.equal(forged.status, CHECK_EXIT.denied);
  assert.deepEqual(forged.report.input.device, {
    certificate: null,
    certificate_error: { code: 'ERR_DEVICE_CERT_UNTRUSTED', source: 'peer' },
    session_bound: false,
  });
});
