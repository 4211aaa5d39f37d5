/**
 * OPA's `json.patch(object, patches)`: RFC 6902 operations (`add`, `remove`, `replace`,
 * `move`, `copy`, `test`) applied in order to a copy of the target. As in OPA, a path is a JSON
 * pointer string (leading slashes trimmed, `~1` and `~0` unescaped; `""` is the whole
 * document) or an array of segments; array positions accept an index or `-` (append, for
 * `add`). Any failing operation makes the result undefined (removing the whole document, `""`,
 * too: OPA 1.22 crashes on it). Sets reach host builtins as arrays,
 * so a set inside the target is patched as an array.
 */

type Json = unknown;
type Segment = string | number;

function parsePath(path: unknown): Segment[] | undefined {
  if (typeof path === 'string') {
    if (path === '') return [];
    return path
      .replace(/^\/+/, '')
      .split('/')
      .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'));
  }
  if (Array.isArray(path) && path.every((s) => typeof s === 'string' || typeof s === 'number'))
    return path as Segment[];
  return undefined;
}

const isObject = (v: Json): v is Record<string, Json> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** An array position: an integer (or its decimal text) within `[0, max]`; `-` is `length` when allowed. */
function arrayIndex(seg: Segment, length: number, allowEnd: boolean): number | undefined {
  if (seg === '-' && allowEnd) return length;
  const n =
    typeof seg === 'number' ? seg : /^(0|[1-9][0-9]*)$/.test(seg) ? Number(seg) : Number.NaN;
  if (!Number.isInteger(n) || n < 0 || n > (allowEnd ? length : length - 1)) return undefined;
  return n;
}

function getAt(doc: Json, path: readonly Segment[]): { value: Json } | undefined {
  let node = doc;
  for (const seg of path) {
    if (Array.isArray(node)) {
      const i = arrayIndex(seg, node.length, false);
      if (i === undefined) return undefined;
      node = node[i];
    } else if (isObject(node) && typeof seg === 'string' && Object.hasOwn(node, seg)) {
      node = node[seg];
    } else {
      return undefined;
    }
  }
  return { value: node };
}

/** The document with `value` inserted at `path` (the parent must exist). */
function insertAt(doc: Json, path: readonly Segment[], value: Json): { doc: Json } | undefined {
  if (path.length === 0) return { doc: value };
  const parent = getAt(doc, path.slice(0, -1));
  const last = path[path.length - 1] as Segment;
  if (parent === undefined) return undefined;
  const node = parent.value;
  if (Array.isArray(node)) {
    const i = arrayIndex(last, node.length, true);
    if (i === undefined) return undefined;
    node.splice(i, 0, value);
  } else if (isObject(node) && typeof last === 'string') {
    Object.defineProperty(node, last, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    return undefined;
  }
  return { doc };
}

/** The document with the value at `path` removed, and that value. */
function removeAt(doc: Json, path: readonly Segment[]): { doc: Json; removed: Json } | undefined {
  if (path.length === 0) return undefined;
  const parent = getAt(doc, path.slice(0, -1));
  const last = path[path.length - 1] as Segment;
  if (parent === undefined) return undefined;
  const node = parent.value;
  if (Array.isArray(node)) {
    const i = arrayIndex(last, node.length, false);
    if (i === undefined) return undefined;
    return { doc, removed: node.splice(i, 1)[0] };
  }
  if (isObject(node) && typeof last === 'string' && Object.hasOwn(node, last)) {
    const removed = node[last];
    delete node[last];
    return { doc, removed };
  }
  return undefined;
}

function deepEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return (
      ka.length === Object.keys(b).length &&
      ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]))
    );
  }
  return false;
}

const clone = (v: Json): Json => (v === undefined ? v : (JSON.parse(JSON.stringify(v)) as Json));

/** `json.patch(object, patches)`. */
export function patch(target: unknown, patches: unknown): unknown {
  if (!Array.isArray(patches)) return undefined;
  let doc = clone(target);
  for (const op of patches) {
    if (
      !isObject(op) ||
      !Object.hasOwn(op, 'path') ||
      !Object.hasOwn(op, 'op') ||
      typeof op['op'] !== 'string'
    )
      return undefined;
    const path = parsePath(op['path']);
    if (path === undefined) return undefined;
    const has = (k: string): boolean => Object.hasOwn(op, k);
    let next: { doc: Json } | undefined;
    switch (op['op']) {
      case 'add':
        next = has('value') ? insertAt(doc, path, clone(op['value'])) : undefined;
        break;
      case 'remove':
        next = removeAt(doc, path);
        break;
      case 'replace': {
        if (path.length === 0) {
          next = has('value') ? { doc: clone(op['value']) } : undefined; // the whole document
          break;
        }
        const removed = removeAt(doc, path);
        next =
          removed === undefined || !has('value')
            ? undefined
            : insertAt(removed.doc, path, clone(op['value']));
        break;
      }
      case 'move': {
        const from = has('from') ? parsePath(op['from']) : undefined;
        const removed = from === undefined ? undefined : removeAt(doc, from);
        next = removed === undefined ? undefined : insertAt(removed.doc, path, removed.removed);
        break;
      }
      case 'copy': {
        const from = has('from') ? parsePath(op['from']) : undefined;
        const value = from === undefined ? undefined : getAt(doc, from);
        next = value === undefined ? undefined : insertAt(doc, path, clone(value.value));
        break;
      }
      case 'test': {
        const actual = getAt(doc, path);
        next =
          actual !== undefined && has('value') && deepEqual(actual.value, op['value'])
            ? { doc }
            : undefined;
        break;
      }
      default:
        next = undefined;
    }
    if (next === undefined) return undefined;
    doc = next.doc;
  }
  return doc;
}
