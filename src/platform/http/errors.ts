import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { z } from 'zod';

export type ErrorCode =
  | 'VALIDATION_FAILED'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'REQUEST_TIMEOUT'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'URI_TOO_LONG'
  | 'EXPECTATION_FAILED'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'RATE_LIMITED'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL';

export interface ErrorDetail {
  path?: string;
  message: string;
}

/** The one error type services throw; routes and the error handler map it to HTTP. */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetail[],
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export function codeToStatus(code: ErrorCode): number {
  switch (code) {
    case 'VALIDATION_FAILED':
      return 400;
    case 'UNAUTHENTICATED':
      return 401;
    case 'FORBIDDEN':
      return 403;
    case 'NOT_FOUND':
      return 404;
    case 'METHOD_NOT_ALLOWED':
      return 405;
    case 'REQUEST_TIMEOUT':
      return 408;
    case 'CONFLICT':
      return 409;
    case 'PAYLOAD_TOO_LARGE':
      return 413;
    case 'URI_TOO_LONG':
      return 414;
    case 'EXPECTATION_FAILED':
      return 417;
    case 'UNSUPPORTED_MEDIA_TYPE':
      return 415;
    case 'RATE_LIMITED':
      return 429;
    case 'SERVICE_UNAVAILABLE':
      return 503;
    case 'INTERNAL':
      return 500;
  }
}

/** The envelope code for an HTTP status that came from elsewhere (Fastify, Better Auth). */
export function statusToCode(status: number): ErrorCode {
  switch (status) {
    case 401:
      return 'UNAUTHENTICATED';
    case 403:
      return 'FORBIDDEN';
    case 404:
      return 'NOT_FOUND';
    case 405:
      return 'METHOD_NOT_ALLOWED';
    case 408:
      return 'REQUEST_TIMEOUT';
    case 409:
    case 422:
      return 'CONFLICT';
    case 413:
      return 'PAYLOAD_TOO_LARGE';
    case 414:
      return 'URI_TOO_LONG';
    case 417:
      return 'EXPECTATION_FAILED';
    case 415:
      return 'UNSUPPORTED_MEDIA_TYPE';
    case 429:
      return 'RATE_LIMITED';
    case 503:
      return 'SERVICE_UNAVAILABLE';
    default:
      return status >= 500 ? 'INTERNAL' : 'VALIDATION_FAILED';
  }
}

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string().meta({ example: 'NOT_FOUND' }),
      message: z.string(),
      details: z.array(z.object({ path: z.string().optional(), message: z.string() })).optional(),
      requestId: z.string(),
    }),
  })
  .meta({ id: 'Error' });
export type ErrorBody = z.infer<typeof ErrorBody>;

export function errorBody(code: ErrorCode, message: string, requestId: string, details?: ErrorDetail[]): ErrorBody {
  return { error: { code, message, ...(details?.length ? { details } : {}), requestId } };
}

/** The most problems one answer lists, and the longest message of each (one may list every unknown key). */
const MAX_DETAILS = 20;
const MAX_DETAIL_LENGTH = 300;
const bounded = (message: string) =>
  message.length > MAX_DETAIL_LENGTH ? `${message.slice(0, MAX_DETAIL_LENGTH)}...` : message;

/** Error responses every authenticated route can give, for the OpenAPI document. */
export const commonErrors = {
  400: ErrorBody,
  401: ErrorBody,
  403: ErrorBody,
} as const;

/** SQLSTATE and constraint of a database error, as drizzle wraps it (`cause`) or not. */
export function databaseError(error: unknown): { code?: string; constraint?: string } {
  const outer = error as { code?: unknown; constraint?: unknown; cause?: { code?: unknown; constraint?: unknown } };
  const source = typeof outer.cause?.code === 'string' ? outer.cause : outer;
  return {
    code: typeof source.code === 'string' ? source.code : undefined,
    constraint: typeof source.constraint === 'string' ? source.constraint : undefined,
  };
}

// Postgres SQLSTATEs that are the caller's fault, not ours.
function fromDatabaseError(error: unknown): AppError | undefined {
  const { code } = databaseError(error);
  if (code === '23505') return new AppError('CONFLICT', 'a record with these values already exists');
  if (code === '23503') return new AppError('VALIDATION_FAILED', 'a referenced record does not exist');
  if (code === '23P01') return new AppError('CONFLICT', 'it overlaps another record');
  if (code === '23001') return new AppError('CONFLICT', 'other records still refer to it');
  if (code === '23514') return new AppError('VALIDATION_FAILED', 'a value is out of its allowed range');
  // Class 22, data exception: a value of the wrong format, out of range, too long, with a NUL...
  if (typeof code === 'string' && code.startsWith('22'))
    return new AppError('VALIDATION_FAILED', 'a value has the wrong format or is out of range');
  return undefined;
}

const FASTIFY_MESSAGES: Partial<Record<string, string>> = {
  FST_ERR_CTP_EMPTY_JSON_BODY:
    'the body is empty but content-type is application/json: send a JSON body or no content-type',
  FST_ERR_CTP_INVALID_JSON_BODY: 'the body is not valid JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'the body is larger than this server accepts',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported content-type: send application/json',
};

const INVALID_PART: Partial<Record<string, string>> = {
  body: 'the body is not valid',
  querystring: 'the query string is not valid',
  params: 'the path parameters are not valid',
  headers: 'the headers are not valid',
};

/** "the body is not valid", from the part of the request (Fastify's validation context) at fault. */
export function invalidPartMessage(part: string | undefined): string {
  return INVALID_PART[part ?? ''] ?? 'the request is not valid';
}

function mapError(error: FastifyError | AppError | Error): AppError {
  if (error instanceof AppError) return error;
  if (hasZodFastifySchemaValidationErrors(error)) {
    const where = error.validationContext ?? 'request';
    return new AppError(
      'VALIDATION_FAILED',
      invalidPartMessage(where),
      // Bounded: a body of 60,000 unknown keys gets the first of its problems, not all of them.
      error.validation.slice(0, MAX_DETAILS).map((issue) => ({
        // "/patient/0/name" -> "body.patient.0.name"; "/" (the whole part) -> "body"
        path: `${where}${issue.instancePath.replaceAll('/', '.')}`.replace(/\.$/, ''),
        message: bounded(issue.message ?? 'is not valid'),
      })),
    );
  }
  if (isResponseSerializationError(error)) return new AppError('INTERNAL', 'internal error');
  const db = fromDatabaseError(error);
  if (db) return db;
  const status = (error as FastifyError).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code = statusToCode(status);
    const known = FASTIFY_MESSAGES[(error as FastifyError).code];
    // Fastify's own messages for these carry no request data; other 4xx texts are not echoed.
    return new AppError(code, known ?? (code === 'VALIDATION_FAILED' ? 'the request is not valid' : error.message));
  }
  return new AppError(
    typeof status === 'number' && status === 503 ? 'SERVICE_UNAVAILABLE' : 'INTERNAL',
    'internal error',
  );
}

// Database errors carry row values in their message and detail; log only what locates the fault.
export function safeError(error: Error): Record<string, unknown> {
  const cause = (error as { cause?: { code?: unknown; severity?: unknown } }).cause;
  const fromDatabase = 'severity' in error || cause?.severity !== undefined || error.message.startsWith('Failed query');
  return {
    type: error.name,
    code: (error as { code?: unknown }).code ?? cause?.code,
    message: fromDatabase ? undefined : error.message,
    // Frames only: a multi-line message (drizzle's "Failed query ... params: ...") never reaches the log.
    stack: error.stack
      ?.split('\n')
      .filter((line) => line.startsWith('    at '))
      .join('\n'),
  };
}

/** One error handler for the whole app, so every error has the same envelope. */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const mapped = mapError(error);
    const status = codeToStatus(mapped.code);
    // Wardline's own "shutting down" is expected and says so; every other 5xx is logged and hidden.
    const shuttingDown = error instanceof AppError && error.code === 'SERVICE_UNAVAILABLE';
    const failed = status >= 500 && !shuttingDown;
    if (failed) {
      request.log.error({ err: safeError(error) }, 'request failed');
    } else {
      request.log.info({ code: mapped.code }, 'request rejected');
    }
    const message = failed ? 'internal error' : mapped.message;
    const headers = (error as { headers?: Record<string, string> }).headers;
    if (headers?.['retry-after']) void reply.header('retry-after', headers['retry-after']);
    return reply
      .code(status)
      .send(errorBody(mapped.code, message, request.id, status >= 500 ? undefined : mapped.details));
  });
}
