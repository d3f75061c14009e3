import type { JobPayload } from './job-map.js';

/** Longest string a payload may carry: ids and codes, not text. */
const MAX_STRING = 256;

function isScalar(value: unknown): boolean {
  return (
    value === null ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value)) ||
    (typeof value === 'string' && value.length <= MAX_STRING)
  );
}

/** Refuses a payload without its tenant and request id, or one that carries more than ids and scalars. */
export function checkPayload(name: string, data: unknown): asserts data is JobPayload {
  const fail = (why: string) => {
    throw new Error(`job ${name}: ${why}`);
  };
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return fail('the payload must be an object');
  const payload = data as Record<string, unknown>;
  const org = payload.organizationId;
  if (!('organizationId' in payload) || !(org === null || (typeof org === 'string' && org.length > 0)))
    fail('the payload must carry organizationId (an id, or null for platform jobs)');
  if (!('requestId' in payload) || !(payload.requestId === null || typeof payload.requestId === 'string'))
    fail('the payload must carry requestId (a string or null)');
  for (const [key, value] of Object.entries(payload)) {
    const ok = Array.isArray(value) ? value.length <= 100 && value.every(isScalar) : isScalar(value);
    if (!ok) fail(`payload field ${key} must be an id or a scalar (payloads never hold records or patient data)`);
  }
}
