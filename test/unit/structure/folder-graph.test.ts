/**
 * The folder graph of src/ has no cycles: if folder A imports from folder B (directly or through
 * others), B never imports from A. A sub-folder is a folder of its own, so identity/session/ may
 * not import from identity/. Reads the TypeScript sources (not dist/), every relative import,
 * export-from and dynamic import, type-only ones included.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';
import { repoPath } from '../../support/paths.js';

/** Folder → folders it imports from, each with one example `file -> specifier` per edge. */
type FolderGraph = Map<string, Map<string, string>>;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

function folderOf(root: string, file: string): string {
  const folder = relative(root, dirname(file)).split(sep).join('/');
  return folder === '' ? '.' : folder;
}

function folderGraph(root: string): FolderGraph {
  const graph: FolderGraph = new Map();
  for (const file of sourceFiles(root)) {
    const from = folderOf(root, file);
    const edges = graph.get(from) ?? new Map<string, string>();
    graph.set(from, edges);
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName } of importedFiles) {
      if (!fileName.startsWith('.')) continue;
      const to = folderOf(root, resolve(dirname(file), fileName));
      if (to !== from && !edges.has(to))
        edges.set(to, `${relative(root, file).split(sep).join('/')} -> ${fileName}`);
    }
  }
  return graph;
}

/** Every cycle's folders (one strongly connected component each, Tarjan), as a readable path. */
function cycles(graph: FolderGraph): string[] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const found: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next += 1;
    stack.push(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (stack.includes(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component);
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found.map((component) => describe(graph, component));
}

/** One loop through the component, each step with the import that makes it. */
function describe(graph: FolderGraph, component: readonly string[]): string {
  const members = new Set(component);
  const start = [...component].sort()[0]!;
  const path = [start];
  const seen = new Set([start]);
  let at = start;
  for (;;) {
    const steps = [...(graph.get(at)?.keys() ?? [])].filter((w) => members.has(w));
    const next = steps.includes(start) && path.length > 1 ? start : steps.find((w) => !seen.has(w));
    const step = next ?? steps[0]!;
    path.push(step);
    if (step === start || seen.has(step)) break;
    seen.add(step);
    at = step;
  }
  const lines = path
    .slice(1)
    .map((to, i) => `  ${path[i]} -> ${to}  (${graph.get(path[i]!)?.get(to)})`);
  return [`{${[...component].sort().join(', ')}}:`, ...lines].join('\n');
}

test('src/ has no folder-level import cycle', () => {
  const graph = folderGraph(repoPath('src'));
  // The graph is real: the folders exist and import each other.
  assert.ok(graph.size >= 20, `only ${graph.size} folders found under src/`);
  assert.ok(graph.get('server')?.has('check'), 'server/ is expected to import check/');
  const found = cycles(graph);
  assert.deepEqual(found, [], `folder import cycles:\n${found.join('\n')}`);
});

test('the cycle finder reports a cycle, with the imports that make it', () => {
  const graph: FolderGraph = new Map([
    ['a', new Map([['b', 'a/x.ts -> ../b/y.js']])],
    ['b', new Map([['c', 'b/y.ts -> ../c/z.js']])],
    ['c', new Map([['a', 'c/z.ts -> ../a/x.js']])],
    ['d', new Map([['a', 'd/w.ts -> ../a/x.js']])],
  ]);
  const found = cycles(graph);
  assert.equal(found.length, 1);
  assert.match(found[0]!, /^\{a, b, c\}:/);
  assert.match(found[0]!, /a -> b {2}\(a\/x\.ts -> \.\.\/b\/y\.js\)/);
  assert.match(found[0]!, /c -> a {2}\(c\/z\.ts -> \.\.\/a\/x\.js\)/);
  assert.deepEqual(cycles(new Map([['d', new Map([['a', '']])]])), []);
});

test("README's Layout names every folder under src/", () => {
  const readme = readFileSync(repoPath('README.md'), 'utf8');
  const layout = /## Layout\n\n```\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  assert.ok(layout.length > 0, 'README.md has no ## Layout block');
  const folders = readdirSync(repoPath('src'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && entry.name !== 'gen')
    .map((entry) => entry.name);
  for (const folder of folders)
    assert.ok(layout.includes(`src/${folder}/`), `README.md's Layout does not name src/${folder}/`);
});
