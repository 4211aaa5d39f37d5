/**
 * OPA's `glob.quote_meta(pattern)`: gobwas/glob's `QuoteMeta`, a backslash before each of the
 * glob syntax characters `* ? [ ] { } \`.
 */

/** `glob.quote_meta(pattern)`. */
export function quoteMeta(pattern: unknown): string | undefined {
  return typeof pattern === 'string' ? pattern.replace(/[*?[\]{}\\]/g, '\\$&') : undefined;
}
