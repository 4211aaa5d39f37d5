/**
 * The HPACK Huffman code (RFC 7541 Appendix B) and its decoder.
 *
 * The code is canonical: codes are handed out in order of length, and within one length in order
 * of symbol, so the 257 code lengths below determine every code. The codes derived from them are
 * checked against Appendix B (a fingerprint of the whole table) and against nghttp2's encoder
 * (node:http2) by test/unit/wire/h2/hpack.test.ts.
 *
 * Decoding walks a 4-bit state machine built once at module load: a state is an internal node of
 * the code tree (256 of them), and one table entry per (state, nibble) gives the next state and
 * the symbol completed on the way, if any (a code is at least 5 bits, so a nibble completes at
 * most one). Measured on Node 24 against an 8-bit machine (up to two symbols per byte): the same
 * speed on header-sized strings (about 370 ns for a 42-character path, most of it creating the
 * string) and 20% faster on 2 KB, but a 256 KB table that takes 14 ms to build, against 16 KB and
 * 1.5 ms; so 4 bits.
 */
// A module cycle with hpack.ts, safe because neither module uses the other's exports while it is
// being evaluated: hpack.ts owns HpackError, the one error its callers handle.
import { HpackError } from './hpack.js';

/** Code length in bits of each symbol: octets 0..255, then EOS (256). RFC 7541 Appendix B. */
export const HUFFMAN_CODE_LENGTHS: readonly number[] = Object.freeze([
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28,
  28, 28, 28, 28, 28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5,
  6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6,
  7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, 20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23,
  23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, 22, 21, 20, 22,
  22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22,
  23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27,
  27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25,
  24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, 30,
]);

/** The end-of-string symbol: never valid inside a string (RFC 7541 §5.2). */
export const EOS = 256;

/** The code of each symbol (read its `HUFFMAN_CODE_LENGTHS` low bits, most significant first). */
export const HUFFMAN_CODES: readonly number[] = Object.freeze(canonicalCodes(HUFFMAN_CODE_LENGTHS));

function canonicalCodes(lengths: readonly number[]): number[] {
  const symbols = lengths.map((_, symbol) => symbol);
  symbols.sort((a, b) => lengths[a]! - lengths[b]! || a - b);
  const codes = new Array<number>(lengths.length).fill(0);
  let code = 0;
  let previous = lengths[symbols[0]!]!;
  for (const [rank, symbol] of symbols.entries()) {
    const length = lengths[symbol]!;
    // Multiplication, not <<: codes reach 30 bits and the next one must not wrap to negative.
    if (rank > 0) code = (code + 1) * 2 ** (length - previous);
    previous = length;
    codes[symbol] = code;
  }
  return codes;
}

/**
 * The code tree: node 0 is the root; `child[2 * node + bit]` is an internal node's number, or
 * `-1 - symbol` for a leaf.
 */
interface CodeTree {
  readonly child: Int16Array;
  readonly nodes: number;
}

function buildTree(codes: readonly number[], lengths: readonly number[]): CodeTree {
  // A complete binary tree with 257 leaves has 256 internal nodes.
  const child = new Int16Array(2 * 256);
  let nodes = 1;
  for (const [symbol, code] of codes.entries()) {
    let node = 0;
    for (let bit = lengths[symbol]! - 1; bit > 0; bit--) {
      const slot = 2 * node + (Math.floor(code / 2 ** bit) & 1);
      if (child[slot] === 0) child[slot] = nodes++;
      node = child[slot]!;
    }
    child[2 * node + (code & 1)] = -1 - symbol;
  }
  return { child, nodes };
}

// Transition entry: bits 0-7 the next state, 8-15 the symbol completed, then two flags.
const EMIT = 1 << 16;
const EMITS_EOS = 1 << 17;

function buildTransitions(tree: CodeTree): Uint32Array {
  const table = new Uint32Array(tree.nodes * 16);
  for (let state = 0; state < tree.nodes; state++) {
    for (let nibble = 0; nibble < 16; nibble++) {
      let node = state;
      let entry = 0;
      for (let bit = 3; bit >= 0; bit--) {
        const next = tree.child[2 * node + ((nibble >> bit) & 1)]!;
        if (next >= 0) {
          node = next;
          continue;
        }
        const symbol = -1 - next;
        entry = symbol === EOS ? EMITS_EOS : EMIT | (symbol << 8);
        node = 0;
      }
      table[state * 16 + nibble] = entry | node;
    }
  }
  return table;
}

// What ending the string in a state means (RFC 7541 §5.2): the bits since the last symbol must
// be a prefix of EOS (all ones) no longer than 7 bits.
const END_OK = 0;
const END_PADDING_LONG = 1;
const END_PADDING_BITS = 2;

function buildEndings(tree: CodeTree): Uint8Array {
  const endings = new Uint8Array(tree.nodes).fill(END_PADDING_BITS);
  let node = 0;
  for (let depth = 0; node >= 0; depth++) {
    endings[node] = depth <= 7 ? END_OK : END_PADDING_LONG;
    node = tree.child[2 * node + 1]!;
  }
  return endings;
}

const TREE = buildTree(HUFFMAN_CODES, HUFFMAN_CODE_LENGTHS);
const TRANSITIONS = buildTransitions(TREE);
const ENDINGS = buildEndings(TREE);

/** Decoded octets, reused across calls; grown to the longest string seen. */
let scratch = Buffer.allocUnsafeSlow(256);

/**
 * Decode the Huffman-coded string in `bytes[start, end)` into a latin1 string (one character per
 * octet, code points 0..255).
 *
 * @throws HpackError `ERR_HPACK_HUFFMAN_EOS` if the EOS symbol is decoded,
 *   `ERR_HPACK_HUFFMAN_PADDING_LONG` if the string ends in more than 7 bits of padding,
 *   `ERR_HPACK_HUFFMAN_PADDING_BITS` if the padding is not all ones (a cut-off code).
 * @example huffmanDecode(Uint8Array.of(0xa8, 0xeb, 0x10, 0x64, 0x9c, 0xbf), 0, 6) // 'no-cache'
 */
export function huffmanDecode(bytes: Uint8Array, start: number, end: number): string {
  // The shortest code is 5 bits, so n octets hold at most 8n/5 symbols.
  const most = Math.ceil(((end - start) * 8) / 5);
  if (scratch.length < most) scratch = Buffer.allocUnsafeSlow(Math.max(most, 2 * scratch.length));
  const out = scratch;
  let length = 0;
  let state = 0;
  for (let i = start; i < end; i++) {
    const octet = bytes[i]!;
    let entry = TRANSITIONS[(state << 4) | (octet >> 4)]!;
    if (entry & (EMIT | EMITS_EOS)) {
      if (entry & EMITS_EOS) throw new HpackError('ERR_HPACK_HUFFMAN_EOS');
      out[length++] = (entry >> 8) & 0xff;
    }
    entry = TRANSITIONS[((entry & 0xff) << 4) | (octet & 0x0f)]!;
    if (entry & (EMIT | EMITS_EOS)) {
      if (entry & EMITS_EOS) throw new HpackError('ERR_HPACK_HUFFMAN_EOS');
      out[length++] = (entry >> 8) & 0xff;
    }
    state = entry & 0xff;
  }
  const ending = ENDINGS[state];
  if (ending === END_PADDING_LONG) throw new HpackError('ERR_HPACK_HUFFMAN_PADDING_LONG');
  if (ending !== END_OK) throw new HpackError('ERR_HPACK_HUFFMAN_PADDING_BITS');
  return out.toString('latin1', 0, length);
}
