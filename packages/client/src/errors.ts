/** One entry of an error's `details`: a field that failed validation, or Better Auth's reason code. */
export interface WardlineErrorDetail {
  path?: string;
  message: string;
}

/** What Wardline sends with every error: `{ "error": { "code", "message", "details?", "requestId" } }`. */
export interface ErrorEnvelope {
  error: { code: string; message: string; details?: WardlineErrorDetail[]; requestId: string };
}

function isEnvelope(body: unknown): body is ErrorEnvelope {
  if (typeof body !== 'object' || body === null || !('error' in body)) return false;
  const error = body.error;
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { code?: unknown }).code === 'string' &&
    typeof (error as { message?: unknown }).message === 'string'
  );
}

/** A request that Wardline (or something in front of it) answered with an error status. */
export class WardlineError extends Error {
  override readonly name = 'WardlineError';

  constructor(
    /** The HTTP status, e.g. 403. */
    readonly status: number,
    /** Wardline's error code, e.g. `FORBIDDEN`; `HTTP_<status>` when the body was not Wardline's envelope. */
    readonly code: string,
    message: string,
    /** Validation failures, one per field, or Better Auth's reason code. */
    readonly details: WardlineErrorDetail[] | undefined,
    /** The request id, also in the server's logs; `undefined` if the answer did not carry one. */
    readonly requestId: string | undefined,
  ) {
    super(message);
  }

  /** The error for a response that was not ok, given its body (parsed JSON, or text). */
  static fromResponse(response: Response, body: unknown): WardlineError {
    const headerId = response.headers.get('x-request-id') ?? undefined;
    if (isEnvelope(body)) {
      const { code, message, details, requestId } = body.error;
      return new WardlineError(response.status, code, message, details, requestId ?? headerId);
    }
    // A proxy's error page, or an empty body: keep a short hint of what came back.
    const text = typeof body === 'string' ? body.trim().slice(0, 200) : '';
    const message = text || response.statusText || `HTTP ${response.status}`;
    return new WardlineError(response.status, `HTTP_${response.status}`, message, undefined, headerId);
  }
}
