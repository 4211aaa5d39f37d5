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

/**
 * Presented certificates remembered per configuration (parsed, described, chain verified), by
 * the SHA-256 of what was presented. A device sends the same certificate on every request, and
 * parsing and verifying one costs ~0.8 ms and ~1.7 ms (measured on the shared 2-core test
 * machine, 5,000 resolves of one certificate); a remembered one ~30 µs, mostly hashing. The
 * clock is applied on every request.
 */
export const MAX_REMEMBERED_CERTIFICATES = 1_000;
