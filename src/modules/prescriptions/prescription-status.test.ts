import { describe, expect, it } from 'vitest';
import { nextStatus, PRESCRIPTION_ACTIONS, PRESCRIPTION_STATUSES } from './prescription-status.js';

describe('the prescription status machine', () => {
  it('allows exactly active -> completed and active -> cancelled', () => {
    const allowed = PRESCRIPTION_STATUSES.flatMap((status) =>
      PRESCRIPTION_ACTIONS.flatMap((action) => {
        const next = nextStatus(status, action);
        return next ? [`${status} -${action}-> ${next}`] : [];
      }),
    );
    expect(allowed).toEqual(['active -complete-> completed', 'active -cancel-> cancelled']);
    expect(nextStatus('unknown', 'complete')).toBeUndefined();
  });
});
