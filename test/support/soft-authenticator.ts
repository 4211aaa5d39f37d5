/**
 * A software WebAuthn authenticator for unit tests: a real P-256 key, real CBOR, real
 * signatures, so the library verifies exactly what a browser would send; and knobs to make each
 * hostile variant (wrong origin or RP ID, no UV, a chosen counter, a forged signature).
 */
import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import { isoBase64URL, isoCBOR } from '@simplewebauthn/server/helpers';

const b64url = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');
const sha256 = (data: Uint8Array | string): Buffer => createHash('sha256').update(data).digest();

/** What one ceremony's response looks like; every field defaults to the honest value. */
export interface Variant {
  readonly origin?: string;
  readonly rpId?: string;
  readonly userVerified?: boolean;
  readonly counter?: number;
  /** `none` (no statement) or `packed` self-attestation. */
  readonly fmt?: 'none' | 'packed';
  readonly aaguid?: string;
  /** Flip a bit of the signature (attestation or assertion). */
  readonly forgeSignature?: boolean;
}

export class SoftAuthenticator {
  readonly credentialId = randomBytes(32);
  readonly #privateKey: KeyObject;
  readonly #cosePublicKey: Uint8Array;

  constructor(
    readonly rpId: string,
    readonly origin: string,
  ) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.#privateKey = privateKey;
    const jwk = publicKey.export({ format: 'jwk' });
    const cose = new Map<number, number | Uint8Array>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, Buffer.from(jwk.x ?? '', 'base64url')],
      [-3, Buffer.from(jwk.y ?? '', 'base64url')],
    ]);
    this.#cosePublicKey = isoCBOR.encode(cose);
  }

  get id(): string {
    return b64url(this.credentialId);
  }

  #authData(variant: Variant, attested: boolean): Buffer {
    const flags = 0x01 | ((variant.userVerified ?? true) ? 0x04 : 0) | (attested ? 0x40 : 0);
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(variant.counter ?? 0);
    const parts = [sha256(variant.rpId ?? this.rpId), Buffer.from([flags]), counter];
    if (attested) {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(this.credentialId.length);
      const aaguid = Buffer.from(
        (variant.aaguid ?? '00000000-0000-0000-0000-000000000000').replaceAll('-', ''),
        'hex',
      );
      parts.push(aaguid, len, this.credentialId, Buffer.from(this.#cosePublicKey));
    }
    return Buffer.concat(parts);
  }

  #clientData(type: string, challenge: string, variant: Variant): Buffer {
    return Buffer.from(
      JSON.stringify({
        type,
        challenge,
        origin: variant.origin ?? this.origin,
        crossOrigin: false,
      }),
    );
  }

  #sign(authData: Buffer, clientData: Buffer, forge: boolean | undefined): Buffer {
    const sig = sign('sha256', Buffer.concat([authData, sha256(clientData)]), this.#privateKey);
    if (forge === true) sig[sig.length - 1] = (sig[sig.length - 1] ?? 0) ^ 0x01;
    return sig;
  }

  /** The JSON a browser posts after `navigator.credentials.create()` for `challenge`. */
  register(challenge: string, variant: Variant = {}): Record<string, unknown> {
    const authData = this.#authData(variant, true);
    const clientData = this.#clientData('webauthn.create', challenge, variant);
    const fmt = variant.fmt ?? 'packed';
    const attStmt =
      fmt === 'none'
        ? new Map<string, number | Uint8Array>()
        : new Map<string, number | Uint8Array>([
            ['alg', -7],
            ['sig', this.#sign(authData, clientData, variant.forgeSignature)],
          ]);
    const attestationObject = isoCBOR.encode(
      new Map<string, string | Uint8Array | Map<string, number | Uint8Array>>([
        ['fmt', fmt],
        ['attStmt', attStmt],
        ['authData', authData],
      ]),
    );
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      authenticatorAttachment: 'cross-platform',
      clientExtensionResults: {},
      response: {
        clientDataJSON: b64url(clientData),
        attestationObject: isoBase64URL.fromBuffer(attestationObject),
        transports: ['usb'],
      },
    };
  }

  /** The JSON a browser posts after `navigator.credentials.get()` for `challenge`. */
  assert(challenge: string, variant: Variant = {}): Record<string, unknown> {
    const authData = this.#authData(variant, false);
    const clientData = this.#clientData('webauthn.get', challenge, variant);
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      authenticatorAttachment: 'cross-platform',
      clientExtensionResults: {},
      response: {
        clientDataJSON: b64url(clientData),
        authenticatorData: b64url(authData),
        signature: b64url(this.#sign(authData, clientData, variant.forgeSignature)),
      },
    };
  }
}
