import fc from 'fast-check';
import type { JsonSchema, OpenApiDocument } from './harness.js';

/**
 * fast-check arbitraries for request input: values shaped by a route's JSON Schema (from the
 * OpenAPI document), some of whose parts are replaced by hostile ones, so that requests get past
 * the first validation into the code behind it as well as being refused by it.
 */

/** Strings that have broken web applications before. */
export const HOSTILE_STRINGS = [
  '',
  ' ',
  '0',
  '-1',
  '1e309',
  '9'.repeat(40),
  '1.5',
  'null',
  'true',
  '[]',
  '{}',
  "' OR '1'='1",
  "'; DROP TABLE subscribers; --",
  '1) or (1=1',
  "%' or email like '%",
  '\\',
  '%',
  '_',
  '%00',
  '\u0000',
  'a\u0000b',
  '\r\nX-Injected: 1',
  'Onderwerp\r\nBcc: buiten@voorbeeld.test',
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  "'><svg onload=alert(1)>",
  'javascript:alert(1)',
  '//evil.example/',
  'https://evil.example/',
  '/\\evil.example',
  '../../etc/passwd',
  '..%2f..%2fetc%2fpasswd',
  'é',
  '\uFEFF',
  '\u202Egnp.exe',
  '\uD800',
  '𝕏𝕏𝕏',
  '٣',
  '{{7*7}}',
  '$' + '{7*7}',
  '__proto__',
  'constructor',
  'a'.repeat(5000),
  'x@voorbeeld.test',
  'X@VOORBEELD.TEST ',
  '"quoted"@voorbeeld.test',
  'a@b',
  '2026-02-30T25:61:00Z',
  '2026-03-01T09:00:00+01:00',
  '0000-00-00',
];

export const hostileString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
);

/** Any JSON value, hostile strings included. */
export const hostileJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 2, arbitrary: hostileString },
  {
    weight: 1,
    arbitrary: fc.constantFrom<unknown>(
      null,
      -1,
      0,
      2 ** 53,
      -(2 ** 63),
      1e308,
      1.5,
      true,
      [],
      {},
      [null],
      JSON.parse('{"__proto__":{"role":"admin"}}'),
    ),
  },
);

/** Values for fields by name (existing topics, ids…), so that generated input refers to real rows. */
export type FieldHints = Record<string, fc.Arbitrary<unknown>>;

interface Options {
  doc: OpenApiDocument;
  hints: FieldHints;
  /** 0: only schema-shaped values; higher: more parts replaced by hostile ones. */
  hostility: number;
}

const MAX_STRING = 300;

export function fromSchema(
  schema: JsonSchema | undefined,
  options: Options,
  depth = 0,
): fc.Arbitrary<unknown> {
  const shaped = shapedBy(schema, options, depth);
  if (options.hostility === 0) return shaped;
  return fc.oneof(
    { weight: 10, arbitrary: shaped },
    { weight: options.hostility, arbitrary: depth > 2 ? hostileString : hostileJson },
  );
}

function resolve(schema: JsonSchema, doc: OpenApiDocument): JsonSchema {
  const ref = schema.$ref;
  if (typeof ref !== 'string') return schema;
  const name = ref.replace('#/components/schemas/', '');
  return doc.components?.schemas?.[name] ?? {};
}

function shapedBy(raw: JsonSchema | undefined, options: Options, depth: number): fc.Arbitrary<unknown> {
  if (!raw || depth > 6) return hostileJson;
  const schema = resolve(raw, options.doc);
  const variants = (schema.oneOf ?? schema.anyOf) as JsonSchema[] | undefined;
  if (variants) return fc.oneof(...variants.map((variant) => fromSchema(variant, options, depth + 1)));
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  if ('const' in schema) return fc.constant(schema.const);
  const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string | undefined];
  return fc.oneof(...types.map((type) => ofType(type, schema, options, depth)));
}

function ofType(
  type: string | undefined,
  schema: JsonSchema,
  options: Options,
  depth: number,
): fc.Arbitrary<unknown> {
  const min = (key: string) => (typeof schema[key] === 'number' ? (schema[key] as number) : undefined);
  switch (type) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
      return fc.integer({ min: min('minimum') ?? -1000, max: min('maximum') ?? 100_000 });
    case 'number':
      return fc.double({ min: min('minimum') ?? -1e6, max: min('maximum') ?? 1e6, noNaN: true });
    case 'string':
      return stringOf(schema);
    case 'array':
      return fc.array(fromSchema(schema.items as JsonSchema, options, depth + 1), {
        minLength: min('minItems') ?? 0,
        maxLength: Math.min(min('maxItems') ?? 5, 5),
      });
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
      const required = new Set((schema.required ?? []) as string[]);
      const record: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [name, property] of Object.entries(properties)) {
        const hint = options.hints[name];
        const shaped = fromSchema(property, options, depth + 1);
        record[name] = hint
          ? fc.oneof({ weight: 3, arbitrary: hint }, { weight: 1, arbitrary: shaped })
          : shaped;
      }
      return fc.record(record, {
        requiredKeys: Object.keys(record).filter((name) => required.has(name)),
      });
    }
    default:
      return hostileJson;
  }
}

function stringOf(schema: JsonSchema): fc.Arbitrary<string> {
  const maxLength = Math.min(
    typeof schema.maxLength === 'number' ? schema.maxLength : MAX_STRING,
    MAX_STRING,
  );
  const minLength = Math.min(typeof schema.minLength === 'number' ? schema.minLength : 0, maxLength);
  switch (schema.format) {
    case 'email':
      return fc.emailAddress();
    case 'date-time':
      return fc.date({ noInvalidDate: true }).map((date) => date.toISOString());
    case 'date':
      return fc.date({ noInvalidDate: true }).map((date) => date.toISOString().slice(0, 10));
    case 'uri':
    case 'url':
      return fc.webUrl();
  }
  if (typeof schema.pattern === 'string') {
    return fc.stringMatching(new RegExp(schema.pattern)).filter((value) => value.length <= maxLength);
  }
  return fc.oneof(
    { weight: 3, arbitrary: fc.string({ minLength, maxLength: Math.min(maxLength, 60) }) },
    { weight: 1, arbitrary: fc.webUrl() },
  );
}
