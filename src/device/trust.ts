import { readFileSync } from 'node:fs';
import { GatehouseError } from '../errors/gatehouse-error.js';
import { parsePemCertificates } from './pem.js';
import { MAX_DEVICE_CAS } from './limits.js';
import type { DeviceOptions } from './resolve.js';
import type { DeviceTrust } from './verify.js';

/** The `device` config section, as validated. */
export interface DeviceConfig {
  readonly certificate: {
    readonly ca_file?: string;
    readonly require_client_auth: boolean;
    readonly bind_sessions: boolean;
  };
  readonly xfcc: {
    readonly trusted: boolean;
  };
}

/**
 * Read the `device` section into {@link DeviceOptions}: with `certificate.ca_file`, its
 * certificates become the trust anchors (each must be a CA).
 *
 * @throws GatehouseError `ERR_CONFIG_INVALID` naming `device.certificate.ca_file` when the file
 *   cannot be read, holds anything but certificates, or holds a certificate that is not a CA.
 */
export function deviceOptions(config: DeviceConfig): DeviceOptions {
  const file = config.certificate.ca_file;
  if (file === undefined) return { xfccTrusted: config.xfcc.trusted };
  const fail = (problem: string, cause?: unknown): never => {
    throw new GatehouseError('ERR_CONFIG_INVALID', {
      message: `config: device.certificate.ca_file: ${file}: ${problem}`,
      cause,
    });
  };
  let pem = '';
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    fail(`cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, err);
  }
  let anchors: DeviceTrust['anchors'] = [];
  try {
    anchors = parsePemCertificates(pem, MAX_DEVICE_CAS);
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err), err);
  }
  for (const anchor of anchors)
    if (!anchor.ca) fail(`${anchor.subject.replaceAll('\n', ', ')} is not a CA certificate`);
  return {
    trust: { anchors, requireClientAuth: config.certificate.require_client_auth },
    xfccTrusted: config.xfcc.trusted,
  };
}
