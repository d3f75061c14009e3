import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from './errors.js';

/** Deeper than any record Wardline accepts; deep enough for any document a client has reason to send. */
export const MAX_JSON_DEPTH = 64;

/**
 * Whether JSON text nests arrays and objects deeper than `max`, found in one pass without parsing
 * (brackets inside strings do not count). A body nested thousands deep parses, but then overflows
 * the stack of whatever walks it recursively (a validator, a serializer).
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return false;
}

/** Fastify's own JSON parser (prototype-poisoning checks included), behind a nesting bound. */
export const jsonBodyPlugin = fp(
  async (app: FastifyInstance) => {
    const parse = app.getDefaultJsonParser('error', 'error');
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
      if (nestsDeeperThan(body as string, MAX_JSON_DEPTH)) {
        done(new AppError('VALIDATION_FAILED', `the JSON body nests deeper than ${MAX_JSON_DEPTH} levels`), undefined);
        return;
      }
      void parse(request, body as string, done);
    });
  },
  { name: 'json-body', dependencies: ['http'] },
);
