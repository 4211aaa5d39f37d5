/**
 * OPA's `strings.render_template(template, vars)`: Go's `text/template` for the part of it
 * policies use, with Go's printing of values as OPA hands them over.
 *
 * Supported: text, `{{ pipeline }}` with `{{-`/`-}}` trimming and comments; `.`, field chains
 * (`.a.b`), `$`, `$x := …` variables; string, number, `true`/`false` literals; `if`/`else if`/
 * `else`, `range` (arrays, and objects in key order; `$i, $v :=`; `else`), `with`/`else`, and the
 * functions `len`, `index`, `not`, `and`, `or`, `eq`, `ne` (strings and booleans), with `|`
 * pipelines. A missing key or null prints `<undefined>`, as in OPA; a field of a non-object,
 * an out-of-range `index`, or anything outside this subset (`printf`, `define`, comparisons of
 * numbers, …) makes the result undefined. As in OPA, numbers are Go `json.Number`s: always true
 * in `if`, printed as their text.
 */
import { regoText } from './sprintf.js';

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pipe: Pipe }
  | { kind: 'if' | 'with'; pipe: Pipe; whenTrue: Node[]; else: Node[] }
  | { kind: 'range'; pipe: Pipe; vars: string[]; body: Node[]; else: Node[] };

/** A pipeline: optional variable declaration, then commands joined by `|`. */
interface Pipe {
  readonly decl: string[];
  readonly cmds: Arg[][];
}

type Arg =
  | { kind: 'field'; base: 'dot' | string; path: string[] }
  | { kind: 'lit'; value: unknown }
  | { kind: 'fn'; name: string }
  | { kind: 'sub'; pipe: Pipe };

class Unsupported extends Error {}

const FUNCTIONS = new Set(['len', 'index', 'not', 'and', 'or', 'eq', 'ne']);

/** Splits the template into text and action tokens, applying trim markers. */
function lex(src: string): Array<{ text: string } | { action: string }> {
  const out: Array<{ text: string } | { action: string }> = [];
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    if (open < 0) {
      out.push({ text: src.slice(i) });
      break;
    }
    let text = src.slice(i, open);
    let start = open + 2;
    if (src.startsWith('- ', start) || (src[start] === '-' && /\s/.test(src[start + 1] ?? ''))) {
      text = text.replace(/\s+$/, '');
      start += 1;
    }
    const close = src.indexOf('}}', start);
    if (close < 0) throw new Unsupported('unclosed action');
    let end = close;
    let trimAfter = false;
    if (src[close - 1] === '-' && /\s/.test(src[close - 2] ?? '')) {
      end = close - 1;
      trimAfter = true;
    }
    out.push({ text });
    out.push({ action: src.slice(start, end).trim() });
    i = close + 2;
    if (trimAfter) while (i < src.length && /\s/.test(src[i] as string)) i++;
  }
  return out.filter((t) => !('text' in t) || t.text !== '');
}

/** Tokens of one action: strings, words, `(`, `)`, `|`, `:=`, `,`. */
function words(action: string): string[] {
  const re = /\s*("(?:[^"\\]|\\.)*"|`[^`]*`|:=|[()|,]|[^\s()|,]+)/y;
  const out: string[] = [];
  let m: RegExpExecArray | null;
  for (m = re.exec(action); m !== null; m = re.exec(action)) out.push(m[1] as string);
  if (re.lastIndex < action.trimEnd().length && out.join('').length === 0)
    throw new Unsupported('bad action');
  return out;
}

function parsePipe(tokens: string[]): Pipe {
  let t = tokens;
  const decl: string[] = [];
  const assign = t.indexOf(':=');
  if (assign >= 0) {
    for (const v of t.slice(0, assign)) if (v !== ',') decl.push(v);
    if (decl.some((v) => !/^\$[A-Za-z0-9_]*$/.test(v)) || decl.length === 0 || decl.length > 2)
      throw new Unsupported('declaration');
    t = t.slice(assign + 1);
  }
  const cmds: Arg[][] = [[]];
  for (let i = 0; i < t.length; i++) {
    const w = t[i] as string;
    if (w === '|') {
      cmds.push([]);
      continue;
    }
    if (w === '(') {
      let depth = 1;
      let j = i + 1;
      for (; j < t.length && depth > 0; j++) depth += t[j] === '(' ? 1 : t[j] === ')' ? -1 : 0;
      if (depth !== 0) throw new Unsupported('parenthesis');
      (cmds[cmds.length - 1] as Arg[]).push({
        kind: 'sub',
        pipe: parsePipe(t.slice(i + 1, j - 1)),
      });
      i = j - 1;
      continue;
    }
    (cmds[cmds.length - 1] as Arg[]).push(parseArg(w));
  }
  if (cmds.some((c) => c.length === 0)) throw new Unsupported('empty command');
  return { decl, cmds };
}

function parseArg(w: string): Arg {
  if (w.startsWith('"')) return { kind: 'lit', value: JSON.parse(w) as string };
  if (w.startsWith('`')) return { kind: 'lit', value: w.slice(1, -1) };
  if (w === 'true' || w === 'false') return { kind: 'lit', value: w === 'true' };
  if (/^-?[0-9]+(\.[0-9]+)?$/.test(w)) return { kind: 'lit', value: Number(w) };
  if (w === '.') return { kind: 'field', base: 'dot', path: [] };
  if (w.startsWith('.')) return { kind: 'field', base: 'dot', path: w.slice(1).split('.') };
  if (w.startsWith('$')) {
    const [base, ...path] = w.split('.');
    return { kind: 'field', base: base as string, path };
  }
  if (FUNCTIONS.has(w)) return { kind: 'fn', name: w };
  throw new Unsupported(`unsupported word ${w}`);
}

/** Builds the tree; `end`/`else` close the innermost block. */
function parse(src: string): Node[] {
  const tokens = lex(src);
  let pos = 0;
  const block = (): { nodes: Node[]; stop: string } => {
    const nodes: Node[] = [];
    while (pos < tokens.length) {
      const tok = tokens[pos++] as { text: string } | { action: string };
      if ('text' in tok) {
        nodes.push({ kind: 'text', text: tok.text });
        continue;
      }
      const a = tok.action;
      if (a.startsWith('/*') && a.endsWith('*/')) continue;
      const w = words(a);
      const head = w[0];
      if (head === 'end') return { nodes, stop: 'end' };
      if (head === 'else') return { nodes, stop: a };
      if (head === 'if' || head === 'with' || head === 'range') {
        nodes.push(control(head, parsePipe(w.slice(1))));
        continue;
      }
      if (
        head === 'define' ||
        head === 'template' ||
        head === 'block' ||
        head === 'break' ||
        head === 'continue'
      )
        throw new Unsupported(head);
      nodes.push({ kind: 'action', pipe: parsePipe(w) });
    }
    return { nodes, stop: 'eof' };
  };
  /** An `if`/`with`/`range` through its `end`; `else if` nests an `if` that shares the `end`. */
  const control = (head: 'if' | 'with' | 'range', pipe: Pipe): Node => {
    const body = block();
    let elseNodes: Node[] = [];
    if (body.stop.startsWith('else')) {
      const rest = words(body.stop).slice(1);
      if (rest[0] === 'if' && head === 'if') {
        elseNodes = [control('if', parsePipe(rest.slice(1)))];
      } else if (rest.length === 0) {
        const e = block();
        if (e.stop !== 'end') throw new Unsupported('else');
        elseNodes = e.nodes;
      } else {
        throw new Unsupported('else');
      }
    } else if (body.stop !== 'end') {
      throw new Unsupported('unterminated block');
    }
    if (head === 'range')
      return {
        kind: 'range',
        pipe: { decl: [], cmds: pipe.cmds },
        vars: pipe.decl,
        body: body.nodes,
        else: elseNodes,
      };
    return { kind: head, pipe, whenTrue: body.nodes, else: elseNodes };
  };
  const top = block();
  if (top.stop !== 'eof') throw new Unsupported('unexpected end');
  return top.nodes;
}

const MISSING = Symbol('missing');
type Value = unknown;

class Failure extends Error {}

function isObject(v: Value): v is Record<string, Value> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function truthy(v: Value): boolean {
  if (v === MISSING || v === null || v === undefined || v === false || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isObject(v)) return Object.keys(v).length > 0;
  return true; // numbers are json.Number strings in Go: never empty
}

/** Go's `%v` of a value inside a composite. */
function goValue(v: Value): string {
  if (v === null || v === MISSING) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return regoText(v);
  if (Array.isArray(v)) return `[${v.map(goValue).join(' ')}]`;
  if (isObject(v))
    return `map[${Object.keys(v)
      .sort()
      .map((k) => `${k}:${goValue(v[k])}`)
      .join(' ')}]`;
  return String(v);
}

function print(v: Value): string {
  return v === null || v === MISSING ? '<undefined>' : goValue(v);
}

interface Scope {
  dot: Value;
  vars: Map<string, Value>;
}

function field(base: Value, path: readonly string[]): Value {
  let v = base;
  for (const key of path) {
    if (v === MISSING || v === null) return MISSING;
    if (!isObject(v)) throw new Failure(`can't evaluate field ${key}`);
    v = Object.hasOwn(v, key) ? v[key] : MISSING;
  }
  return v;
}

function evalArg(a: Arg, s: Scope): Value {
  switch (a.kind) {
    case 'lit':
      return a.value;
    case 'sub':
      return evalPipe(a.pipe, s);
    case 'fn':
      return call(a.name, [], s);
    case 'field': {
      if (a.base === 'dot') return field(s.dot, a.path);
      if (!s.vars.has(a.base)) throw new Unsupported(`undefined variable ${a.base}`);
      return field(s.vars.get(a.base), a.path);
    }
  }
}

function call(name: string, args: Value[], _s: Scope): Value {
  switch (name) {
    case 'len': {
      const [x] = args;
      if (args.length !== 1) throw new Failure('len arity');
      if (typeof x === 'string') return Buffer.byteLength(x);
      if (Array.isArray(x)) return x.length;
      if (isObject(x)) return Object.keys(x).length;
      throw new Failure('len of a value that has none');
    }
    case 'index': {
      let v = args[0];
      for (const k of args.slice(1)) {
        if (Array.isArray(v) && typeof k === 'number' && Number.isInteger(k)) {
          if (k < 0 || k >= v.length) throw new Failure('index out of range');
          v = v[k];
        } else if (isObject(v) && typeof k === 'string') v = Object.hasOwn(v, k) ? v[k] : MISSING;
        else throw new Failure('cannot index');
      }
      return v;
    }
    case 'not':
      if (args.length !== 1) throw new Failure('not arity');
      return !truthy(args[0]);
    case 'and': {
      if (args.length < 1) throw new Failure('and arity');
      for (const a of args) if (!truthy(a)) return a;
      return args[args.length - 1];
    }
    case 'or': {
      if (args.length < 1) throw new Failure('or arity');
      for (const a of args) if (truthy(a)) return a;
      return args[args.length - 1];
    }
    case 'eq':
    case 'ne': {
      if (args.length < 2) throw new Failure('eq arity');
      const [x, ...ys] = args;
      // Numbers are json.Number in Go: comparing them is a type question Gatehouse does not answer.
      const simple = (v: Value): boolean => typeof v === 'string' || typeof v === 'boolean';
      if (!simple(x) || !ys.every(simple)) throw new Unsupported('eq of non-string values');
      if (ys.some((y) => typeof y !== typeof x))
        throw new Failure('incompatible types for comparison');
      const equal = ys.some((y) => y === x);
      return name === 'eq' ? equal : !equal;
    }
  }
  throw new Unsupported(name);
}

function evalCmd(cmd: Arg[], s: Scope, piped: Value | typeof NONE): Value {
  const [head, ...rest] = cmd as [Arg, ...Arg[]];
  if (head.kind === 'fn') {
    const args = rest.map((a) => evalArg(a, s));
    if (piped !== NONE) args.push(piped);
    return call(head.name, args, s);
  }
  if (rest.length > 0 || piped !== NONE) throw new Unsupported('arguments to a non-function');
  return evalArg(head, s);
}

const NONE = Symbol('none');

function evalPipe(p: Pipe, s: Scope): Value {
  let v: Value | typeof NONE = NONE;
  for (const cmd of p.cmds) v = evalCmd(cmd, s, v);
  if (p.decl.length === 1) s.vars.set(p.decl[0] as string, v);
  else if (p.decl.length > 1) throw new Unsupported('declaration');
  return v;
}

function exec(nodes: readonly Node[], s: Scope, out: string[]): void {
  for (const n of nodes) {
    switch (n.kind) {
      case 'text':
        out.push(n.text);
        break;
      case 'action': {
        const v = evalPipe(n.pipe, s);
        if (n.pipe.decl.length === 0) out.push(print(v));
        break;
      }
      case 'if':
        exec(truthy(evalPipe(n.pipe, s)) ? n.whenTrue : n.else, s, out);
        break;
      case 'with': {
        const v = evalPipe(n.pipe, s);
        if (truthy(v)) exec(n.whenTrue, { dot: v, vars: s.vars }, out);
        else exec(n.else, s, out);
        break;
      }
      case 'range': {
        const v = evalPipe(n.pipe, s);
        const entries: Array<[Value, Value]> = Array.isArray(v)
          ? v.map((x, i) => [i, x])
          : isObject(v)
            ? Object.keys(v)
                .sort()
                .map((k) => [k, v[k]])
            : v === MISSING || v === null
              ? []
              : (() => {
                  throw new Failure("range can't iterate");
                })();
        if (entries.length === 0) exec(n.else, s, out);
        for (const [k, x] of entries) {
          const vars = new Map(s.vars);
          if (n.vars.length === 1) vars.set(n.vars[0] as string, x);
          if (n.vars.length === 2) {
            vars.set(n.vars[0] as string, k);
            vars.set(n.vars[1] as string, x);
          }
          exec(n.body, { dot: x, vars }, out);
        }
        break;
      }
    }
  }
}

/** `strings.render_template(template, vars)`. */
export function renderTemplate(template: unknown, vars: unknown): string | undefined {
  if (typeof template !== 'string' || !isObject(vars)) return undefined;
  try {
    const out: string[] = [];
    exec(parse(template), { dot: vars, vars: new Map([['$', vars]]) }, out);
    return out.join('');
  } catch (err) {
    if (err instanceof Unsupported || err instanceof Failure || err instanceof SyntaxError)
      return undefined;
    throw err;
  }
}
