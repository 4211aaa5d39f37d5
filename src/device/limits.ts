/**
 * Bounds on the work spent on one request's client certificate. A certificate is a few KiB; a
 * header or attribute beyond these is refused (`ERR_DEVICE_CERT_INVALID`), never truncated.
 */

/** Longest URL-encoded certificate or chain accepted, in characters (~12 certificates of 2 KiB). */
export const MAX_ENCODED_CERTIFICATE_CHARS = 65_536;

/** Most certificates in a presented chain, leaf included. */
export const MAX_CHAIN_CERTIFICATES = 8;

/** Most elements (proxy hops) in one `x-forwarded-client-cert` header. */
export const MAX_XFCC_ELEMENTS = 16;

/** Most certificates in `device.certificate.ca_file`. */
export const MAX_DEVICE_CAS = 1_000;
