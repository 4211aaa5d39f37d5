/**
 * Random CheckRequests generated from the schema, for the differential tests that hold a
 * hand-written part to protobuf-es (test/unit/input/attributes-json.test.ts: the attributes
 * converter against protomap; test/unit/wire/check-request.test.ts: the decoder against
 * `fromBinary`): every field of every message, random presence, unknown enum values, `__proto__`
 * map keys, Structs with NaN, typed `Any`s of any type, out-of-range timestamps, 64-bit integers
 * beyond 2^53. Deterministic: a failure is reproducible from its seed.
 */
import { create, type DescField, type DescMessage, type JsonValue } from '@bufbuild/protobuf';
import { anyPack, DurationSchema, StructSchema, TimestampSchema } from '@bufbuild/protobuf/wkt';
import {
  CheckRequestSchema,
  type CheckRequest,
} from '../../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import { AttributeContextSchema } from '../../src/gen/envoy/service/auth/v3/attribute_context_pb.js';

/** A small deterministic PRNG (mulberry32), so a failure is reproducible from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random values and messages drawn from `r`. */
export class Gen {
  constructor(readonly r: () => number) {}
  chance(p: number): boolean {
    return this.r() < p;
  }
  int(n: number): number {
    return Math.floor(this.r() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }
  string(): string {
    return this.pick([
      '',
      'a',
      'GET',
      '/api/items?page=2',
      'app.example.com',
      '__proto__',
      'ünïcødé ✓',
      'x'.repeat(this.int(40)),
      'line\nbreak',
      '\u0000nul',
      String(this.int(100000)),
    ]);
  }
  key(): string {
    return this.pick([
      'k',
      ':path',
      'content-type',
      '__proto__',
      'constructor',
      'x-gatehouse-user',
      '1',
      '10',
      'Ä',
      String(this.int(50)),
    ]);
  }
  json(depth: number): JsonValue {
    const k = this.int(depth > 2 ? 4 : 6);
    if (k === 0) return null;
    if (k === 1) return this.chance(0.5);
    if (k === 2)
      return this.chance(0.02) ? Number.NaN : this.pick([0, 1, -1.5, 1e21, 3.14, this.int(1000)]);
    if (k === 3) return this.string();
    if (k === 4) return Array.from({ length: this.int(4) }, () => this.json(depth + 1));
    return this.object(depth + 1);
  }
  object(depth: number): { [key: string]: JsonValue } {
    const o: { [key: string]: JsonValue } = {};
    for (let i = this.int(4); i > 0; i--)
      Object.defineProperty(o, this.key(), {
        value: this.json(depth),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return o;
  }

  /** A random init for `desc`: every field considered, set with some probability. */
  message(desc: DescMessage, depth: number): Record<string, unknown> {
    const init: Record<string, unknown> = {};
    const oneofsDone = new Set<string>();
    for (const field of desc.fields) {
      if (!this.chance(depth > 3 ? 0.2 : 0.6)) continue;
      if (field.oneof !== undefined) {
        if (oneofsDone.has(field.oneof.localName)) continue;
        oneofsDone.add(field.oneof.localName);
        init[field.oneof.localName] = { case: field.localName, value: this.value(field, depth) };
        continue;
      }
      if (field.fieldKind === 'map') {
        const m: Record<string, unknown> = {};
        for (let i = this.int(5); i > 0; i--) {
          Object.defineProperty(m, this.key(), {
            value: this.mapValue(field, depth),
            enumerable: true,
            writable: true,
            configurable: true,
          });
        }
        init[field.localName] = m;
      } else if (field.fieldKind === 'list') {
        init[field.localName] = Array.from({ length: this.int(3) }, () =>
          this.listValue(field, depth),
        );
      } else {
        init[field.localName] = this.value(field, depth);
      }
    }
    return init;
  }

  value(field: DescField, depth: number): unknown {
    switch (field.fieldKind) {
      case 'scalar':
        return this.scalar(field.scalar);
      case 'enum':
        return this.chance(0.1) ? 7 : this.pick(field.enum.values).number;
      case 'message':
        return this.sub(field.message, depth);
      default:
        throw new Error(`unexpected ${field.fieldKind}`);
    }
  }

  mapValue(field: DescField & { fieldKind: 'map' }, depth: number): unknown {
    if (field.mapKind === 'scalar') return this.scalar(field.scalar);
    if (field.mapKind === 'enum') return this.pick(field.enum.values).number;
    return this.sub(field.message, depth);
  }

  listValue(field: DescField & { fieldKind: 'list' }, depth: number): unknown {
    if (field.listKind === 'scalar') return this.scalar(field.scalar);
    if (field.listKind === 'enum') return this.pick(field.enum.values).number;
    return this.sub(field.message, depth);
  }

  sub(desc: DescMessage, depth: number): unknown {
    switch (desc.typeName) {
      case 'google.protobuf.Struct':
        return this.object(depth);
      case 'google.protobuf.Timestamp': {
        const seconds = this.chance(0.05)
          ? this.pick([-62135596801n, 253402300800n])
          : BigInt(this.int(2_000_000_000));
        const nanos = this.chance(0.05)
          ? -1
          : this.pick([0, 0, 123_000_000, 123_456_000, 123_456_789, 1, 999_999_999]);
        return create(TimestampSchema, { seconds, nanos });
      }
      case 'google.protobuf.Any':
        return this.chance(0.2)
          ? create(desc, {
              typeUrl: 'type.googleapis.com/not.Registered',
              value: new Uint8Array([8, 1]),
            })
          : this.chance(0.5)
            ? anyPack(StructSchema, create(StructSchema, { fields: {} }))
            : anyPack(
                DurationSchema,
                create(DurationSchema, {
                  seconds: BigInt(this.int(100)),
                  nanos: this.int(3) * 1000,
                }),
              );
      default:
        return create(desc, this.message(desc, depth + 1));
    }
  }

  scalar(type: number): unknown {
    // ScalarType: 1 double, 2 float, 3 int64, 4 uint64, 5 int32, 6 fixed64, 7 fixed32, 8 bool,
    // 9 string, 12 bytes, 13 uint32, 15 sfixed32, 16 sfixed64, 17 sint32, 18 sint64.
    switch (type) {
      case 8:
        return this.chance(0.5);
      case 9:
        return this.string();
      case 12:
        return this.chance(0.3)
          ? new Uint8Array(0)
          : Uint8Array.from({ length: 1 + this.int(20) }, () => this.int(256));
      case 3:
      case 16:
      case 18:
        return this.pick([0n, -1n, 15n, 9007199254740993n, -9223372036854775808n]);
      case 4:
      case 6:
        return this.pick([0n, 1n, 18446744073709551615n]);
      case 1:
      case 2:
        return this.pick([0, 1.5, -2]);
      default:
        return this.pick([0, 1, 80, 65535, 4294967295 % 2147483647]);
    }
  }
}

/** The random CheckRequest of `seed` (attributes only: what Envoy sends). */
export function randomCheckRequest(seed: number): CheckRequest {
  const g = new Gen(prng(seed));
  return create(CheckRequestSchema, {
    attributes: create(AttributeContextSchema, g.message(AttributeContextSchema, 0) as never),
  });
}
