/**
 * Bounds on the work the input stage does for one request. Envoy and the gRPC transport already
 * bound sizes (header size, `max_request_bytes`, max message size); these bound the shape.
 * Exceeding one is a coded error (fail closed), never a silent truncation.
 */

/** Longest `:path` accepted, in UTF-16 code units (Envoy's default header limit is 60 KiB). */
export const MAX_PATH_LENGTH = 65_536;

/** Most `key=value` pairs in a query string or an `application/x-www-form-urlencoded` body. */
export const MAX_FORM_FIELDS = 10_000;

/** Deepest nesting of arrays and objects in a JSON body. */
export const MAX_JSON_DEPTH = 64;

/** Most parts in a `multipart/form-data` body. */
export const MAX_MULTIPART_PARTS = 1_000;

/** Most header lines in one multipart part. */
export const MAX_MULTIPART_PART_HEADERS = 64;
