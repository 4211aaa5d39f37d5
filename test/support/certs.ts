import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A certificate and its key, as PEM files (and their contents). */
export interface Issued {
  readonly cert: string;
  readonly key: string;
  readonly certPem: Buffer;
  readonly keyPem: Buffer;
  /** The serial number as `openssl` prints it (upper-case hex), to tell certificates apart. */
  readonly serial: string;
}

/** A throwaway CA that issues short-lived certificates into a temp folder, made with the `openssl` CLI. */
export class TestCa {
  readonly dir: string;
  readonly cert: string;
  readonly key: string;
  #n = 0;

  /** @throws Error when `openssl` is not installed (a failure, never a skip). */
  constructor(readonly name = 'gatehouse-test-ca') {
    this.dir = mkdtempSync(join(tmpdir(), 'gatehouse-certs-'));
    this.cert = join(this.dir, 'ca.crt');
    this.key = join(this.dir, 'ca.key');
    openssl([
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      this.key,
      '-out',
      this.cert,
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
  }

  /**
   * Issue a leaf certificate with subject CN `cn` and the given SANs (e.g. `URI:spiffe://test/envoy`,
   * `DNS:gatehouse.test`, `IP:127.0.0.1`), usable for both server and client authentication.
   * With `into`, the files are written there by rename (as a rotation would).
   */
  issue(
    cn: string,
    sans: readonly string[],
    into?: { readonly cert: string; readonly key: string },
  ): Issued {
    const base = join(this.dir, `leaf-${this.#n++}`);
    const ext = `${base}.ext`;
    writeFileSync(
      ext,
      [
        `basicConstraints=CA:FALSE`,
        `extendedKeyUsage=serverAuth,clientAuth`,
        ...(sans.length > 0 ? [`subjectAltName=${sans.join(',')}`] : []),
      ].join('\n'),
    );
    openssl([
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      `${base}.key`,
      '-out',
      `${base}.csr`,
      '-subj',
      `/CN=${cn}`,
    ]);
    const serial = randomBytes(8).toString('hex').toUpperCase().replace(/^0+/, '');
    openssl([
      'x509',
      '-req',
      '-in',
      `${base}.csr`,
      '-CA',
      this.cert,
      '-CAkey',
      this.key,
      '-set_serial',
      `0x${serial}`,
      '-days',
      '1',
      '-out',
      `${base}.crt`,
      '-extfile',
      ext,
    ]);
    let cert = `${base}.crt`;
    let key = `${base}.key`;
    if (into !== undefined) {
      renameSync(key, into.key);
      renameSync(cert, into.cert);
      cert = into.cert;
      key = into.key;
    }
    return { cert, key, certPem: readFileSync(cert), keyPem: readFileSync(key), serial };
  }
}

function openssl(args: readonly string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const e = err as { code?: string; stderr?: Buffer };
    if (e.code === 'ENOENT')
      throw new Error(
        'openssl not found: the TLS tests generate their certificates with it (apt-get install openssl)',
      );
    throw new Error(`openssl ${args[0]} failed: ${e.stderr?.toString() ?? String(err)}`);
  }
}
