import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A certificate issued by {@link DeviceCa}: files and contents. */
export interface DeviceCert {
  readonly cert: string;
  readonly key: string;
  readonly pem: string;
}

/** What to put in a certificate {@link DeviceCa.issue} makes. */
export interface IssueOptions {
  /** Subject as `openssl -subj` takes it, e.g. `/O=Acme/CN=laptop-1`. */
  readonly subject: string;
  /** e.g. `URI:spiffe://acme/device/1`, `DNS:laptop.acme.test`, `email:a@acme.test`, `IP:10.0.0.1`. */
  readonly sans?: readonly string[];
  /** Extended key usage; default `clientAuth`; `null` leaves the extension out. */
  readonly eku?: string | null;
  /** Make it a CA (for an intermediate). */
  readonly ca?: boolean;
  /** Validity; default from an hour ago for a day. */
  readonly notBefore?: Date;
  readonly notAfter?: Date;
}

const HOUR = 3_600_000;

/**
 * A throwaway device CA made with the `openssl` CLI (node:crypto cannot create certificates),
 * issuing through `openssl ca` so that validity can be set in the past or the future (expired
 * and not-yet-valid certificates). Root by default; `DeviceCa.under(parent)` for an intermediate.
 */
export class DeviceCa {
  readonly dir: string;
  readonly cert: string;
  readonly key: string;
  #n = 0;

  /** @throws Error when `openssl` is not installed (a failure, never a skip). */
  constructor(
    readonly name: string,
    existing?: { readonly cert: string; readonly key: string },
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'gatehouse-device-ca-'));
    mkdirSync(join(this.dir, 'db'));
    writeFileSync(join(this.dir, 'db', 'index'), '');
    writeFileSync(join(this.dir, 'db', 'serial'), `${randomBytes(8).toString('hex')}\n`);
    writeFileSync(
      join(this.dir, 'ca.cnf'),
      [
        '[ca]',
        'default_ca = d',
        '[d]',
        `database = ${join(this.dir, 'db', 'index')}`,
        `new_certs_dir = ${join(this.dir, 'db')}`,
        `serial = ${join(this.dir, 'db', 'serial')}`,
        'default_md = sha256',
        'policy = p',
        'unique_subject = no',
        'email_in_dn = yes',
        'preserve = yes',
        '[p]',
        'countryName = optional',
        'organizationName = optional',
        'organizationalUnitName = optional',
        'commonName = optional',
        'emailAddress = optional',
        '',
      ].join('\n'),
    );
    if (existing !== undefined) {
      this.cert = existing.cert;
      this.key = existing.key;
      return;
    }
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
      `/O=${name}/CN=${name} root`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
  }

  /** An intermediate CA issued by `parent`. */
  static under(parent: DeviceCa, name: string): DeviceCa {
    const issued = parent.issue({ subject: `/O=${name}/CN=${name} issuing`, ca: true, eku: null });
    return new DeviceCa(name, issued);
  }

  /** The CA certificate, PEM. */
  get pem(): string {
    return readFileSync(this.cert, 'utf8');
  }

  issue(options: IssueOptions): DeviceCert {
    const base = join(this.dir, `cert-${this.#n++}`);
    const eku = options.eku === undefined ? 'clientAuth' : options.eku;
    writeFileSync(
      `${base}.ext`,
      [
        '[x]',
        options.ca === true
          ? 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign'
          : 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature',
        ...(eku === null ? [] : [`extendedKeyUsage=${eku}`]),
        ...(options.sans !== undefined && options.sans.length > 0
          ? [`subjectAltName=${options.sans.join(',')}`]
          : []),
        '',
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
      options.subject,
    ]);
    const notBefore = options.notBefore ?? new Date(Date.now() - HOUR);
    const notAfter = options.notAfter ?? new Date(Date.now() + 24 * HOUR);
    openssl([
      'ca',
      '-batch',
      '-notext',
      '-config',
      join(this.dir, 'ca.cnf'),
      '-cert',
      this.cert,
      '-keyfile',
      this.key,
      '-in',
      `${base}.csr`,
      '-out',
      `${base}.crt`,
      '-startdate',
      asn1Time(notBefore),
      '-enddate',
      asn1Time(notAfter),
      '-extfile',
      `${base}.ext`,
      '-extensions',
      'x',
    ]);
    return { cert: `${base}.crt`, key: `${base}.key`, pem: readFileSync(`${base}.crt`, 'utf8') };
  }
}

/** `YYYYMMDDHHMMSSZ`, as `openssl ca -startdate` takes it. */
function asn1Time(date: Date): string {
  return `${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

/** URL-encode PEM as Envoy does for `source.certificate` and XFCC `Cert`. */
export function urlEncodePem(pem: string): string {
  return encodeURIComponent(pem);
}

/** Run the openssl CLI; its output (for -nameopt comparisons). */
export function openssl(args: readonly string[]): string {
  try {
    return execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString('utf8');
  } catch (err) {
    const e = err as { code?: string; stderr?: Buffer };
    if (e.code === 'ENOENT')
      throw new Error(
        'openssl not found: the device certificate tests generate their certificates with it (apt-get install openssl)',
      );
    throw new Error(`openssl ${args[0]} failed: ${e.stderr?.toString() ?? String(err)}`);
  }
}
