/**
 * OPA's `regex.globs_match(glob1, glob2)`: whether two globs — here a regular-expression subset
 * of characters, `.`, `[…]` sets with ranges, `+` and `*`, and `\` escapes — match at least one
 * common non-empty string. A port of github.com/yashtewari/glob-intersection, the library OPA
 * calls (as vendored by OPA 1.22), so results equal OPA's; an invalid glob is undefined.
 */

enum Kind {
  Char = 0,
  Dot = 1,
  Set = 2,
}
enum Flag {
  None = 0,
  Plus = 1,
  Star = 2,
}

interface Token {
  readonly kind: Kind;
  flag: Flag;
  readonly rune?: number;
  readonly runes?: ReadonlySet<number>;
}

class InvalidGlob extends Error {}

const END = Symbol('end');
type Rune = { index: number; rune: number; escaped: boolean };

function nextRune(index: number, input: readonly number[]): Rune | typeof END {
  if (index >= input.length) return END;
  if (input[index] === 0x5c) {
    if (index === input.length - 1) throw new InvalidGlob('ends with an escape');
    return { index: index + 2, rune: input[index + 1] as number, escaped: true };
  }
  return { index: index + 1, rune: input[index] as number, escaped: false };
}

const FLAGS: Record<number, Flag> = { 43: Flag.Plus, 42: Flag.Star };

function nextSet(start: number, input: readonly number[]): { index: number; token: Token } {
  const runes = new Set<number>();
  let prev = 0;
  let prevExists = false;
  let index = start;
  for (;;) {
    const r = nextRune(index, input);
    if (r === END) throw new InvalidGlob('[ without ]');
    index = r.index;
    if (!r.escaped && r.rune === 0x5d)
      return { index, token: { kind: Kind.Set, flag: Flag.None, runes } };
    if (!r.escaped && r.rune === 0x2d) {
      if (!prevExists) throw new InvalidGlob("'-' without a start");
      const end = nextRune(index, input);
      if (end === END) throw new InvalidGlob("'-' without an end");
      index = end.index;
      if (!end.escaped && (end.rune === 0x5d || end.rune === 0x2d))
        throw new InvalidGlob("'-' before a symbol");
      if (end.rune < prev) throw new InvalidGlob('range out of order');
      for (let x = prev; x <= end.rune; x++) runes.add(x);
      prevExists = false;
    } else {
      runes.add(r.rune);
      prev = r.rune;
      prevExists = true;
    }
  }
}

function tokenize(text: string): Token[] {
  const input = [...text].map((c) => c.codePointAt(0) as number);
  const tokens: Token[] = [];
  let index = 0;
  for (;;) {
    const r = nextRune(index, input);
    if (r === END) break;
    index = r.index;
    let token: Token;
    if (!r.escaped && r.rune === 0x2e) token = { kind: Kind.Dot, flag: Flag.None };
    else if (!r.escaped && r.rune === 0x5d) throw new InvalidGlob('] without [');
    else if (!r.escaped && r.rune === 0x5b) ({ index, token } = nextSet(index, input));
    else if (!r.escaped && FLAGS[r.rune] !== undefined)
      throw new InvalidGlob('flag without a token');
    else token = { kind: Kind.Char, flag: Flag.None, rune: r.rune };
    const f = nextRune(index, input);
    if (f !== END && !f.escaped && FLAGS[f.rune] !== undefined) {
      token.flag = FLAGS[f.rune] as Flag;
      index = f.index;
    }
    tokens.push(token);
  }
  return tokens;
}

function equal(a: Token, b: Token): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === Kind.Char) return a.rune === b.rune;
  if (a.kind === Kind.Set)
    return a.runes?.size === b.runes?.size && [...(a.runes ?? [])].every((x) => b.runes?.has(x));
  return true;
}

function simplify(tokens: Token[]): Token[] {
  if (tokens.length === 0) return tokens;
  const simple = [tokens[0] as Token];
  let latest = tokens[0] as Token;
  for (const t of tokens.slice(1)) {
    if (t.flag !== Flag.None && latest.flag !== Flag.None && equal(t, latest)) {
      latest.flag = t.flag === Flag.Plus || latest.flag === Flag.Plus ? Flag.Plus : Flag.Star;
      continue;
    }
    latest = t;
    simple.push(t);
  }
  return simple;
}

function match(a: Token, b: Token): boolean {
  const [x, y] = a.kind <= b.kind ? [a, b] : [b, a];
  if (x.kind === Kind.Char && y.kind === Kind.Char) return x.rune === y.rune;
  if (x.kind === Kind.Char && y.kind === Kind.Set) return y.runes?.has(x.rune as number) === true;
  if (x.kind === Kind.Set && y.kind === Kind.Set)
    return [...(x.runes ?? [])].some((r) => y.runes?.has(r));
  return true; // a dot matches anything
}

function trim(g1: Token[], g2: Token[]): [Token[], Token[]] | undefined {
  let l = 0;
  for (
    ;
    l < g1.length &&
    l < g2.length &&
    (g1[l] as Token).flag === Flag.None &&
    (g2[l] as Token).flag === Flag.None;
    l++
  ) {
    if (!match(g1[l] as Token, g2[l] as Token)) return undefined;
  }
  if (l > 0) l--;
  let r1 = g1.length - 1;
  let r2 = g2.length - 1;
  for (
    ;
    r1 >= 0 &&
    r1 >= l &&
    r2 >= 0 &&
    r2 >= l &&
    (g1[r1] as Token).flag === Flag.None &&
    (g2[r2] as Token).flag === Flag.None;
    r1--, r2--
  ) {
    if (!match(g1[r1] as Token, g2[r2] as Token)) return undefined;
  }
  if (r1 < g1.length - 1) {
    r1++;
    r2++;
  }
  return [g1.slice(l, r1 + 1), g2.slice(l, r2 + 1)];
}

function intersectNormal(g1: Token[], g2: Token[]): boolean {
  let i = 0;
  let j = 0;
  for (; i < g1.length && j < g2.length; i++, j++) {
    const a = g1[i] as Token;
    const b = g2[j] as Token;
    if (a.flag === Flag.None && b.flag === Flag.None) {
      if (!match(a, b)) return false;
    } else {
      return intersectSpecial(g1.slice(i), g2.slice(j));
    }
  }
  return i === g1.length && j === g2.length;
}

function intersectSpecial(g1: Token[], g2: Token[]): boolean {
  const a = g1[0] as Token;
  if (a.flag !== Flag.None)
    return a.flag === Flag.Plus ? intersectPlus(g1, g2) : intersectStar(g1, g2);
  const b = g2[0] as Token;
  if (b.flag === Flag.Plus) return intersectPlus(g2, g1);
  if (b.flag === Flag.Star) return intersectStar(g2, g1);
  return false;
}

function intersectPlus(plussed: Token[], other: Token[]): boolean {
  const o = other[0];
  if (o === undefined) throw new InvalidGlob('index out of range'); // Go panics here; OPA reports an error
  if (!match(plussed[0] as Token, o)) return false;
  if (intersectStar(plussed, other.slice(1))) return true;
  return o.flag !== Flag.None && intersectNormal(plussed.slice(1), other);
}

function intersectStar(starred: Token[], other: Token[]): boolean {
  const star = starred[0] as Token;
  const next = starred[1];
  for (let i = 0; i < other.length; i++) {
    const t = other[i] as Token;
    if (next !== undefined && match(t, next)) {
      if (intersectNormal(starred.slice(1), other.slice(i))) return true;
      if (!match(t, star)) return false;
    } else if (!match(t, star)) {
      return false;
    }
  }
  return next === undefined;
}

/** `regex.globs_match(glob1, glob2)`. */
export function globsMatch(glob1: unknown, glob2: unknown): boolean | undefined {
  if (typeof glob1 !== 'string' || typeof glob2 !== 'string') return undefined;
  try {
    const g1 = simplify(tokenize(glob1));
    const g2 = simplify(tokenize(glob2));
    const trimmed = trim(g1, g2);
    return trimmed === undefined ? false : intersectNormal(trimmed[0], trimmed[1]);
  } catch (err) {
    if (err instanceof InvalidGlob) return undefined;
    throw err;
  }
}
