/**
 * Reading group names out of verified claims.
 */
import type { JsonObject } from '../input/types.js';

/** Default claim holding group names. */
export const DEFAULT_GROUPS_CLAIM = 'groups';

/**
 * The group names at `path` in `claims`.
 *
 * `path` is first tried as one claim name (so namespaced claims such as
 * `https://example.com/groups` work), then as a dotted path (`realm_access.roles`). A string is
 * one group; an array contributes its strings; anything else gives no groups.
 *
 * @example
 *   groupsFromClaims({ realm_access: { roles: ['admin'] } }, 'realm_access.roles') // ['admin']
 */
export function groupsFromClaims(
  claims: Readonly<Record<string, unknown>>,
  path: string = DEFAULT_GROUPS_CLAIM,
): readonly string[] {
  let value: unknown = Object.hasOwn(claims, path) ? claims[path] : walk(claims, path);
  if (typeof value === 'string') value = [value];
  if (!Array.isArray(value)) return Object.freeze([]);
  return Object.freeze(value.filter((g): g is string => typeof g === 'string' && g !== ''));
}

function walk(claims: Readonly<Record<string, unknown>>, path: string): unknown {
  let node: unknown = claims;
  for (const segment of path.split('.')) {
    if (
      typeof node !== 'object' ||
      node === null ||
      Array.isArray(node) ||
      !Object.hasOwn(node, segment)
    )
      return undefined;
    node = (node as Record<string, unknown>)[segment];
  }
  return node;
}

/** Claims as the policy's JSON object (verified JWT claims are JSON by construction). */
export function asJsonObject(claims: object): JsonObject {
  return claims as JsonObject;
}
