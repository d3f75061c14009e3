/**
 * A small sample generator for the JSON Schemas of the OpenAPI document: the smallest value a schema
 * accepts, from what JSON Schema can say (type, format, enum, const, lengths, bounds, simple patterns).
 * It is not a validator: when it cannot satisfy a keyword it says so (`exact: false`), so that a test
 * can tell "the route refused my clumsy body" (400) from "the route refused the caller".
 */

export interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  prefixItems?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  example?: unknown;
  examples?: unknown[];
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  multipleOf?: number;
  minItems?: number;
  uniqueItems?: boolean;
  minProperties?: number;
  allOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  nullable?: boolean;
}

export interface SampleOptions {
  /** Where `$ref`s point (`#/components/schemas/...`): the OpenAPI document. */
  document: unknown;
  /** An id for an id-like string: format uuid, a name like `id` or `patientId`, or a UUID as its example. */
  id: (name: string) => string;
}

/** Which optional properties of the top object to send: the first (when none is required), one by name, or all. */
export type Optional = { first: true } | { only: string } | { all: true };

interface Context extends SampleOptions {
  /** Dates and instants made so far: each is later than the one before (start, then end). */
  instants: number;
  optional: Optional;
}

export interface Sample {
  value: unknown;
  /** False when some keyword could not be satisfied: the route may well answer 400. */
  exact: boolean;
}

const FORMATS: Record<string, string> = {
  time: '10:00:00',
  email: 'sample.person@example.test',
  uri: 'https://example.test/sample',
  url: 'https://example.test/sample',
  hostname: 'example.test',
  ipv4: '192.0.2.1',
  ipv6: '2001:db8::1',
  duration: 'P1D',
};

// Tried in order for a plain string with a pattern: most simple patterns accept one of them.
const STRINGS = ['Sample text', 'sample', 'sample-1', 'SAMPLE', 'S1', 'a', 'A', '1', '0', 'x1', 'A1', 'ABC123'];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const isIdName = (name: string) => name === 'id' || /[a-z]Id$/.test(name);

const equal = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);

function resolve(schema: JsonSchema, document: unknown): JsonSchema {
  let current = schema;
  for (let hops = 0; current.$ref && hops < 10; hops++) {
    const path = current.$ref.replace(/^#\//, '').split('/');
    let target: unknown = document;
    for (const part of path) target = (target as Record<string, unknown> | undefined)?.[part.replace(/~1/g, '/')];
    if (!target || typeof target !== 'object') return {};
    current = target;
  }
  return current;
}

function typeOf(schema: JsonSchema): string | undefined {
  if (Array.isArray(schema.type)) return schema.type.find((t) => t !== 'null') ?? 'null';
  if (schema.type) return schema.type;
  if (schema.properties) return 'object';
  if (schema.items) return 'array';
  return undefined;
}

function fitsString(value: string, schema: JsonSchema): boolean {
  if (schema.minLength !== undefined && value.length < schema.minLength) return false;
  if (schema.maxLength !== undefined && value.length > schema.maxLength) return false;
  if (schema.pattern !== undefined) {
    try {
      return new RegExp(schema.pattern, 'u').test(value);
    } catch {
      return new RegExp(schema.pattern).test(value);
    }
  }
  return true;
}

/**
 * A calendar day in the past (a birth date is never in the future) or an instant in the coming week (an
 * appointment is rarely in the past), each later than the previous one, so that `start` precedes `end`.
 */
function dateSample(format: string, ctx: Context): string | undefined {
  const n = ctx.instants++;
  if (format === 'date') return new Date(Date.UTC(2000, 0, 15 + n)).toISOString().slice(0, 10);
  if (format !== 'date-time') return undefined;
  const day = new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10);
  return new Date(Date.parse(`${day}T10:00:00.000Z`) + n * 3_600_000).toISOString();
}

function sampleString(schema: JsonSchema, name: string, ctx: Context): Sample {
  const id = ctx.id(name);
  // An id field gets a real id (the test's), before any example: the example id exists nowhere.
  const idLike =
    schema.format === 'uuid' ||
    isIdName(name) ||
    [schema.example, ...(schema.examples ?? [])].some((example) => typeof example === 'string' && UUID.test(example));
  const date = schema.format ? dateSample(schema.format, ctx) : undefined;
  const candidates: unknown[] = [
    ...(idLike ? [id] : []),
    date,
    schema.default,
    schema.example,
    ...(schema.examples ?? []),
    ...(schema.format && FORMATS[schema.format] ? [FORMATS[schema.format]] : []),
    ...STRINGS,
    // An id last: a pattern no word matches may be an id's (RecordId).
    id,
  ];
  for (const candidate of candidates) {
    if (typeof candidate !== 'string') continue;
    const padded =
      schema.minLength && candidate.length < schema.minLength ? candidate.padEnd(schema.minLength, 'a') : candidate;
    if (fitsString(padded, schema)) return { value: padded, exact: true };
  }
  return { value: 'sample', exact: false };
}

function sampleNumber(schema: JsonSchema, integer: boolean): Sample {
  const step = integer ? 1 : 0.5;
  let value =
    schema.minimum ??
    (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + step : undefined) ??
    Math.min(1, schema.maximum ?? 1, schema.exclusiveMaximum !== undefined ? schema.exclusiveMaximum - step : 1);
  if (schema.multipleOf) value = Math.ceil(value / schema.multipleOf) * schema.multipleOf;
  if (integer) value = Math.ceil(value);
  const fits =
    (schema.maximum === undefined || value <= schema.maximum) &&
    (schema.exclusiveMaximum === undefined || value < schema.exclusiveMaximum);
  return { value, exact: fits };
}

function sampleObject(schema: JsonSchema, ctx: Context, depth: number): Sample {
  const properties = schema.properties ?? {};
  const required = (schema.required ?? []).filter((name) => name in properties);
  let exact = required.length === (schema.required ?? []).length;
  const optional = Object.keys(properties).filter((name) => !required.includes(name));
  const choice: Optional = depth === 0 ? ctx.optional : { first: true };
  let names = required;
  if ('all' in choice) names = [...required, ...optional];
  else if ('only' in choice) names = [...required, ...optional.filter((name) => name === choice.only)];
  // A patch with no field is refused by most PATCH schemas (a refinement JSON Schema cannot express):
  // when nothing is required, one field is sent.
  const wanted = Math.max(schema.minProperties ?? 0, optional.length > 0 ? 1 : 0);
  if (names.length < wanted) {
    names = [...names, ...optional.filter((name) => !names.includes(name)).slice(0, wanted - names.length)];
    exact &&= names.length >= (schema.minProperties ?? 0);
  }
  const value: Record<string, unknown> = {};
  for (const name of names) {
    const sample = sampleAt(properties[name]!, name, ctx, depth + 1);
    value[name] = sample.value;
    exact &&= sample.exact;
  }
  return { value, exact };
}

function sampleAt(raw: JsonSchema, name: string, ctx: Context, depth: number): Sample {
  if (depth > 12) return { value: null, exact: false };
  let schema = resolve(raw, ctx.document);
  if (schema.allOf) {
    // Merged shallowly: enough for an object extended with another.
    const parts = schema.allOf.map((part) => resolve(part, ctx.document));
    schema = parts.reduce<JsonSchema>(
      (merged, part) => ({
        ...merged,
        ...part,
        properties: { ...merged.properties, ...part.properties },
        required: [...(merged.required ?? []), ...(part.required ?? [])],
      }),
      { ...schema, allOf: undefined },
    );
  }
  const branches = schema.anyOf ?? schema.oneOf;
  if (branches) {
    const samples = branches
      .filter((branch) => resolve(branch, ctx.document).type !== 'null')
      .map((branch) => sampleAt(branch, name, ctx, depth));
    return samples.find((s) => s.exact) ?? samples[0] ?? { value: null, exact: true };
  }
  if (schema.const !== undefined) return { value: schema.const, exact: true };
  if (schema.enum) return { value: schema.enum.find((v) => v !== null) ?? null, exact: schema.enum.length > 0 };
  const type = typeOf(schema) ?? 'any';
  switch (type) {
    case 'string':
      return sampleString(schema, name, ctx);
    case 'integer':
    case 'number':
      return sampleNumber(schema, type === 'integer');
    case 'boolean':
      return { value: typeof schema.default === 'boolean' ? schema.default : false, exact: true };
    case 'null':
      return { value: null, exact: true };
    case 'array': {
      const count = schema.minItems ?? 0;
      const items = Array.from({ length: count }, (_, i) =>
        sampleAt(schema.prefixItems?.[i] ?? schema.items ?? {}, name.replace(/Ids$/, 'Id'), ctx, depth + 1),
      );
      const values = items.map((s) => s.value);
      const unique = !schema.uniqueItems || new Set(values.map((v) => JSON.stringify(v))).size === values.length;
      return { value: values, exact: unique && items.every((s) => s.exact) };
    }
    case 'object':
      return sampleObject(schema, ctx, depth);
    default:
      // No type at all (any value): an id where the name says so, else a string.
      return { value: isIdName(name) ? ctx.id(name) : 'sample', exact: true };
  }
}

/** The smallest value `schema` accepts, as far as the generator can tell; `name` is the property's. */
export function sampleOf(schema: JsonSchema, options: SampleOptions, name = '', optional: Optional = { first: true }) {
  return sampleAt(schema, name, { ...options, instants: 0, optional }, 0);
}

/**
 * Samples of a body to try in turn, for refinements JSON Schema cannot express ("give start and end
 * together", "at least one field"): the minimal one, then each optional property alone, then all of them.
 */
export function sampleVariants(schema: JsonSchema, options: SampleOptions): Sample[] {
  const top = resolve(schema, options.document);
  const optional = Object.keys(top.properties ?? {}).filter((name) => !(top.required ?? []).includes(name));
  const samples = [
    sampleOf(schema, options),
    ...optional.map((only) => sampleOf(schema, options, '', { only })),
    sampleOf(schema, options, '', { all: true }),
  ];
  return samples.filter((sample, i) => samples.findIndex((s) => equal(s.value, sample.value)) === i);
}
