import fastJson from 'fast-json-stringify';
import type { FastifySerializerCompiler } from 'fastify/types/schema.js';
import { $ZodType } from 'zod/v4/core';
import { z } from 'zod';

type JsonSchema = Record<string, unknown>;

/**
 * A route's response schema (zod) as the JSON Schema fast-json-stringify writes it by: dates as
 * date-time strings (toISOString, as JSON.stringify writes them), and no `additionalProperties: false`,
 * which would make a row with more fields than the answer lists fail to match its branch of a union
 * (fast-json-stringify writes only the properties a schema lists either way).
 */
export function responseJsonSchema(schema: z.ZodType): JsonSchema {
  const json = z.toJSONSchema(schema, {
    io: 'output',
    target: 'draft-07',
    unrepresentable: 'any',
    override: ({ zodSchema, jsonSchema }) => {
      if (zodSchema._zod.def.type === 'date') {
        jsonSchema.type = 'string';
        jsonSchema.format = 'date-time';
      }
      if (jsonSchema.additionalProperties === false) delete jsonSchema.additionalProperties;
    },
  });
  delete json.$schema;
  return json;
}

function zodSchemaOf(schema: unknown): z.ZodType {
  if (schema instanceof $ZodType) return schema as z.ZodType;
  const properties = (schema as { properties?: unknown } | undefined)?.properties;
  if (properties instanceof $ZodType) return properties as z.ZodType;
  throw new Error(`a response schema must be a zod schema: ${JSON.stringify(schema)}`);
}

type Stringify = (data: unknown) => string;

/**
 * One compiled writer per schema, for every route and app that uses it (the error envelope is in every
 * route's responses, under each of its statuses): compiling one per route and status took a second per app.
 */
const writers = new WeakMap<z.ZodType, Stringify>();

function compiled(schema: z.ZodType): Stringify {
  let stringify = writers.get(schema);
  if (!stringify) {
    stringify = fastJson(responseJsonSchema(schema) as fastJson.AnySchema) as Stringify;
    writers.set(schema, stringify);
  }
  return stringify;
}

/**
 * An answer that does not match its route's schema: a bug, answered 500. Its message names the route
 * only, never the value (fast-json-stringify's own can quote it, and the value may be a patient's).
 */
export class ResponseSchemaMismatch extends Error {
  constructor(method: string, url: string) {
    super(`the answer of ${method} ${url} does not match its response schema`);
    this.name = 'ResponseSchemaMismatch';
  }
}

/**
 * Writes every JSON answer with fast-json-stringify, compiled once per schema from the route's zod
 * response schema: only the fields the schema lists leave the server (a row's other columns do not),
 * a missing required field fails the answer (500), and a page of patients costs about half of what
 * validating it with zod and then JSON.stringify did (dates are the dearest part of both).
 */
export const serializerCompiler: FastifySerializerCompiler<z.ZodType> = ({ schema, method, url }) => {
  const zodSchema = zodSchemaOf(schema);
  // At the first answer that uses it: an app declares about 140 routes with a writer for each status,
  // most of which a process (a test's app above all) never answers.
  let stringify: Stringify | undefined;
  return (data) => {
    stringify ??= compiled(zodSchema);
    try {
      return stringify(data);
    } catch {
      throw new ResponseSchemaMismatch(method, url);
    }
  };
};
