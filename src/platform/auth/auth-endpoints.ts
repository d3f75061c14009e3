/**
 * The Better Auth endpoints Wardline exposes under /api/auth, each registered as its own Fastify
 * route. Everything else Better Auth can do (organization management, profile edits, social sign-in,
 * impersonation...) is not reachable over HTTP: those actions go through /api/v1, where the
 * permission table, validation and tenant scoping apply.
 */
export interface AuthEndpoint {
  method: 'GET' | 'POST';
  /** Takes a secret worth guessing: counted by the per-IP limit. */
  guarded?: boolean;
  /** Checks the signed-in account's password: counted by the per-account lockout too. */
  checksPassword?: boolean;
  /**
   * How a caller gets in, for the API document; by default with a session (cookie or bearer; API
   * keys are accepted on /api/v1 only). "optional": answers without one too. "two-factor": the
   * second step of a sign-in, with the challenge cookie sign-in set.
   */
  access?: 'public' | 'optional' | 'two-factor';
}

export const AUTH_ENDPOINTS: Record<string, AuthEndpoint> = {
  '/sign-in/email': { method: 'POST', guarded: true, access: 'public' },
  // An invitation token admits the caller (requestRules in auth.ts).
  '/sign-up/email': { method: 'POST', guarded: true, access: 'public' },
  '/sign-out': { method: 'POST', access: 'optional' },
  '/get-session': { method: 'GET', access: 'optional' },
  '/revoke-sessions': { method: 'POST' },
  '/revoke-other-sessions': { method: 'POST' },
  '/change-password': { method: 'POST', guarded: true, checksPassword: true },
  '/two-factor/enable': { method: 'POST', guarded: true, checksPassword: true },
  '/two-factor/disable': { method: 'POST', guarded: true, checksPassword: true },
  '/two-factor/get-totp-uri': { method: 'POST', guarded: true, checksPassword: true },
  '/two-factor/verify-totp': { method: 'POST', guarded: true, access: 'two-factor' },
  '/two-factor/verify-backup-code': { method: 'POST', guarded: true, access: 'two-factor' },
  '/two-factor/generate-backup-codes': { method: 'POST', guarded: true, checksPassword: true },
  '/api-key/create': { method: 'POST' },
  '/api-key/list': { method: 'GET' },
  '/api-key/get': { method: 'GET' },
  '/api-key/delete': { method: 'POST' },
  '/organization/accept-invitation': { method: 'POST' },
  '/organization/reject-invitation': { method: 'POST' },
  '/organization/set-active': { method: 'POST' },
  '/token': { method: 'GET' },
  '/jwks': { method: 'GET', access: 'public' },
  // Platform administration (Better Auth admin role "admin" only).
  '/admin/create-user': { method: 'POST' },
  '/admin/list-users': { method: 'GET' },
  '/admin/ban-user': { method: 'POST' },
  '/admin/unban-user': { method: 'POST' },
  '/admin/set-role': { method: 'POST' },
  '/admin/set-user-password': { method: 'POST' },
  '/admin/revoke-user-sessions': { method: 'POST' },
};
