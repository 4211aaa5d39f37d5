/**
 * Reading V8 sampling heap profiles (`HeapProfiler.stopSampling`), for bench/check-driver.ts
 * (everything a Check allocates) and bench/survivors.ts (what survives young-generation
 * collections): bytes by allocating function.
 */

/** A node of a sampling heap profile. */
export interface AllocationNode {
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
  readonly selfSize: number;
  readonly children: readonly AllocationNode[];
}

/**
 * The profile's sampled bytes in all, and by allocating function (`name  file:line`, paths from
 * `dist/` or `node_modules/`), largest first.
 */
export function bytesBySite(profile: { readonly head: AllocationNode }): {
  readonly total: number;
  readonly sites: readonly (readonly [site: string, bytes: number])[];
} {
  const bySite = new Map<string, number>();
  let total = 0;
  const walk = (node: AllocationNode): void => {
    const { functionName, url, lineNumber } = node.callFrame;
    const site = `${functionName || '(anonymous)'}  ${url.replace(/^.*\/(dist|node_modules)\//, '')}:${lineNumber + 1}`;
    total += node.selfSize;
    if (node.selfSize > 0) bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
    for (const child of node.children) walk(child);
  };
  walk(profile.head);
  return { total, sites: [...bySite].sort((a, b) => b[1] - a[1]) };
}
