import type { FastifyInstance } from 'fastify';
import * as OTPAuth from 'otpauth';
import { as, PASSWORD } from './test-app.js';

/** Turns on TOTP two-factor for the caller of `token`; returns the authenticator that makes its codes. */
export async function enableTotp(app: FastifyInstance, token: string, password = PASSWORD): Promise<OTPAuth.TOTP> {
  const call = as(app, token);
  const enabled = await call({ method: 'POST', url: '/api/auth/two-factor/enable', payload: { password } });
  if (enabled.statusCode !== 200) throw new Error(`two-factor/enable failed: ${enabled.statusCode} ${enabled.body}`);
  const totp = OTPAuth.URI.parse(enabled.json<{ totpURI: string }>().totpURI) as OTPAuth.TOTP;
  const verified = await call({
    method: 'POST',
    url: '/api/auth/two-factor/verify-totp',
    payload: { code: totp.generate() },
  });
  if (verified.statusCode !== 200) throw new Error(`two-factor/verify-totp failed: ${verified.statusCode}`);
  return totp;
}
