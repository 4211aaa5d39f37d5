/**
 * OPA's `json.marshal_with_options(x, opts)`: Go's `json.Marshal`, or `json.MarshalIndent` with
 * `prefix` and `indent` (default a tab) when `pretty` is true or either of those is set; the
 * prefix also starts the first line, as OPA adds it. Unknown option keys are an error.
 */
import { goJsonMarshal } from './go-json.js';

/** Go's `json.MarshalIndent(v, prefix, indent)`. */
function marshalIndent(value: unknown, prefix: string, indent: string, depth: number): string {
  const newline = (d: number): string => `\n${prefix}${indent.repeat(d)}`;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[${value.map((v) => newline(depth + 1) + marshalIndent(v, prefix, indent, depth + 1)).join(',')}${newline(depth)}]`;
  }
  if (typeof value === 'object' && value !== null) {
    const compact = goJsonMarshal(value);
    if (compact === '{}') return compact;
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    return `{${keys.map((k) => `${newline(depth + 1)}${goJsonMarshal(k)}: ${marshalIndent(record[k], prefix, indent, depth + 1)}`).join(',')}${newline(depth)}}`;
  }
  return goJsonMarshal(value);
}

/** `json.marshal_with_options(x, opts)`. */
export function marshalWithOptions(x: unknown, opts: unknown): string | undefined {
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) return undefined;
  let indent = '\t';
  let prefix = '';
  let implicit = false;
  let explicit: boolean | undefined;
  for (const [key, value] of Object.entries(opts as Record<string, unknown>)) {
    if (key === 'prefix' || key === 'indent') {
      if (typeof value !== 'string') return undefined;
      if (key === 'prefix') prefix = value;
      else indent = value;
      implicit = true;
    } else if (key === 'pretty') {
      if (typeof value !== 'boolean') return undefined;
      explicit = value;
    } else {
      return undefined;
    }
  }
  return (explicit ?? implicit) ? prefix + marshalIndent(x, prefix, indent, 0) : goJsonMarshal(x);
}
