import { GatehouseError } from '../errors/gatehouse-error.js';
import { parseJson } from './json.js';
import { bareMediaType, isJsonMediaType, parseMediaType } from './media-type.js';
import { parseMultipart } from './multipart.js';
import type { JsonValue } from './types.js';
import { parseUrlEncoded } from './url-encoded.js';

/** What `parseBody` needs from the HTTP request: three headers and the body. */
export interface BodySource {
  /** `content-type` header, if any. */
  readonly contentType: string | undefined;
  /** `content-length` header, if any. */
  readonly contentLength: string | undefined;
  /** `x-envoy-auth-partial-body` header, if any: Envoy's own statement that it cut the body. */
  readonly partialBody: string | undefined;
  /** `attributes.request.http.body` (UTF-8 text; set when `pack_as_bytes` is off). */
  readonly body: string;
  /** `attributes.request.http.raw_body` (set when `pack_as_bytes` is on). */
  readonly rawBody: Uint8Array;
}

/** `parsed_body` and `truncated_body`. */
export interface ParsedBody {
  /** The parsed body, or `null` when there is none, it was truncated, or its type is not parsed. */
  readonly parsedBody: JsonValue;
  readonly truncated: boolean;
}

const FORM = 'application/x-www-form-urlencoded';
const MULTIPART = 'multipart/form-data';
const NONE: ParsedBody = Object.freeze({ parsedBody: null, truncated: false });
const TRUNCATED: ParsedBody = Object.freeze({ parsedBody: null, truncated: true });

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lossyUtf8 = new TextDecoder('utf-8', { ignoreBOM: true });

function decodeStrict(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch (err: unknown) {
    throw new GatehouseError('ERR_BODY_INVALID', { cause: err });
  }
}

/** The body selected: its text when Envoy sent text, and its bytes (encoded only when needed). */
interface SelectedBody {
  readonly text: string | undefined;
  /** UTF-8 length in bytes, without encoding the text. */
  readonly byteLength: number;
  bytes(): Uint8Array;
}

/**
 * Pick the body Envoy sent. Envoy fills exactly one of `body` and `raw_body`; like the plugin we
 * read `body` and fall back to `raw_body`. Both set and different is ambiguous and rejected.
 * A text body is encoded to bytes only when they are read (multipart, or the comparison with
 * `raw_body`): a JSON or form body is parsed from its text, and `content-length` compared with
 * its UTF-8 length.
 */
function selectBody(src: BodySource): SelectedBody | undefined {
  const hasText = src.body !== '';
  const hasRaw = src.rawBody.length > 0;
  if (!hasText && !hasRaw) return undefined;
  if (hasText) {
    const text = src.body;
    if (hasRaw && !Buffer.from(text, 'utf8').equals(src.rawBody)) {
      throw new GatehouseError('ERR_REQUEST_INVALID', {
        cause: new Error('body and raw_body differ'),
      });
    }
    return {
      text,
      byteLength: Buffer.byteLength(text, 'utf8'),
      bytes: () => Buffer.from(text, 'utf8'),
    };
  }
  const raw = src.rawBody;
  return { text: undefined, byteLength: raw.length, bytes: () => raw };
}

function formFields(body: Uint8Array, boundary: string): Record<string, JsonValue[]> {
  const out = Object.create(null) as Record<string, JsonValue[]>;
  for (const part of parseMultipart(body, boundary)) {
    const disposition = part.headers.get('content-disposition');
    if (disposition === undefined) continue;
    const { type, params } = parseMediaType(disposition);
    const name = params['name'];
    // Like Go's Part.FormName: only form-data parts with a non-empty name are fields.
    if (type !== 'form-data' || name === undefined || name === '') continue;
    const contentType = part.headers.get('content-type');
    let value: JsonValue;
    if (contentType !== undefined && isJsonMediaType(parseMediaType(contentType).type)) {
      value = parseJson(decodeStrict(part.body));
    } else {
      // Text fields and file contents alike become strings (as in the plugin); bytes that are
      // not UTF-8 become U+FFFD, which is what the plugin's values turn into once serialised.
      value = lossyUtf8.decode(part.body);
    }
    const values = out[name];
    if (values === undefined) out[name] = [value];
    else values.push(value);
  }
  return out;
}

/**
 * Build `parsed_body` and `truncated_body` the way the OPA-Envoy plugin does, failing closed
 * where it would not.
 *
 * - Truncation: `x-envoy-auth-partial-body: true`, or a `content-length` larger than the bytes
 *   received, means the body is partial; it is then never parsed (`parsed_body` is `null`).
 * - `application/json` and `application/*+json`: the JSON value (strict UTF-8).
 * - `application/x-www-form-urlencoded`: `{ key: [values…] }`, as Go's `url.ParseQuery`.
 * - `multipart/form-data`: `{ field: [values…] }`; file parts are included as their content;
 *   a part whose own content type is JSON is parsed as JSON.
 * - Anything else, no `content-type`, or an empty body: `null`.
 *
 * @example
 *   parseBody({ contentType: 'application/json', contentLength: '13', partialBody: undefined,
 *               body: '{"user":"al"}', rawBody: new Uint8Array() })
 *   // { parsedBody: { user: 'al' }, truncated: false }
 * @throws {GatehouseError} `ERR_BODY_INVALID` when a body does not match its declared type
 *   (invalid JSON, non-UTF-8 JSON or form data, multipart without a boundary or with a broken
 *   one, a malformed content type for a parsed type, limits exceeded).
 * @throws {GatehouseError} `ERR_REQUEST_INVALID` on a non-numeric `content-length`, or when
 *   `body` and `raw_body` are both set and differ.
 */
export function parseBody(src: BodySource): ParsedBody {
  const selected = selectBody(src);
  if (selected === undefined) return src.partialBody === 'true' ? TRUNCATED : NONE;

  if (src.partialBody === 'true') return TRUNCATED;
  if (src.contentLength !== undefined) {
    const cl = src.contentLength.trim();
    if (!/^\d+$/.test(cl)) {
      throw new GatehouseError('ERR_REQUEST_INVALID', {
        cause: new Error('content-length is not a number'),
      });
    }
    if (BigInt(cl) > BigInt(selected.byteLength)) return TRUNCATED;
  }

  if (src.contentType === undefined) return NONE;
  const bare = bareMediaType(src.contentType);
  if (isJsonMediaType(bare)) {
    parseMediaType(src.contentType); // a parsed type must be well-formed
    return {
      parsedBody: parseJson(selected.text ?? decodeStrict(selected.bytes())),
      truncated: false,
    };
  }
  if (bare === FORM) {
    parseMediaType(src.contentType);
    return {
      parsedBody: parseUrlEncoded(
        selected.text ?? decodeStrict(selected.bytes()),
        'ERR_BODY_INVALID',
      ),
      truncated: false,
    };
  }
  if (bare === MULTIPART) {
    const boundary = parseMediaType(src.contentType).params['boundary'];
    if (boundary === undefined) {
      throw new GatehouseError('ERR_BODY_INVALID', {
        cause: new Error('multipart without boundary'),
      });
    }
    return { parsedBody: formFields(selected.bytes(), boundary), truncated: false };
  }
  return NONE;
}
