import createClient from 'openapi-fetch';
import { WardlineError } from './errors.js';
import type { components, paths } from './generated/openapi.js';

export type AuthUser = components['schemas']['AuthUser'];

/** A completed sign-in: the session token (use it as `token` in `createWardlineClient`) and the user. */
export interface SignedIn {
  status: 'signed-in';
  token: string;
  user: AuthUser;
}

/** The password was right and the account has two-factor on: send the authenticator's code. */
export interface TwoFactorRequired {
  status: 'two-factor-required';
  /** The second factors the account accepts, e.g. `['totp']`. */
  methods: string[];
  /** The challenge cookie(s) of this sign-in (a `Cookie` header value), valid for 10 minutes. */
  challenge: string;
  /** Completes this sign-in with a code from the authenticator app. */
  verifyTotp(code: string, options?: VerifyTotpOptions): Promise<SignedIn>;
}

export type SignInResult = SignedIn | TwoFactorRequired;

export interface AuthOptions {
  /** The fetch to use (default: the global one). */
  fetch?: (request: Request) => Promise<Response>;
}

export interface VerifyTotpOptions extends AuthOptions {
  /** Skip the code on this device for 30 days. */
  trustDevice?: boolean;
}

const client = (baseUrl: string, options: AuthOptions) =>
  createClient<paths>({ baseUrl, fetch: options.fetch ?? ((request: Request) => globalThis.fetch(request)) });

/** The `name=value` pairs of the cookies a response sets (Node's fetch shows them; browsers do not). */
function cookiesSetBy(response: Response): string[] {
  return response.headers.getSetCookie().map((cookie) => cookie.split(';', 1)[0]!.trim());
}

/**
 * Signs in with email and password (`POST /api/auth/sign-in/email`). Either signed in, or, for an
 * account with two-factor on, a challenge to complete with `verifyTotp`. A wrong password, a locked
 * account or too many attempts throw a `WardlineError`.
 */
export async function signIn(
  baseUrl: string,
  email: string,
  password: string,
  options: AuthOptions = {},
): Promise<SignInResult> {
  const { data, error, response } = await client(baseUrl, options).POST('/api/auth/sign-in/email', {
    body: { email, password },
  });
  if (!response.ok || !data) throw WardlineError.fromResponse(response, error);
  if ('twoFactorRedirect' in data) {
    // The challenge is Better Auth's `two_factor` cookie (its name carries the deployment's prefix).
    const cookies = cookiesSetBy(response);
    const twoFactor = cookies.filter((cookie) => cookie.includes('two_factor'));
    const challenge = (twoFactor.length > 0 ? twoFactor : cookies).join('; ');
    return {
      status: 'two-factor-required',
      methods: data.twoFactorMethods,
      challenge,
      verifyTotp: (code, verifyOptions) => verifyTotp(baseUrl, challenge, code, { ...options, ...verifyOptions }),
    };
  }
  return { status: 'signed-in', token: response.headers.get('set-auth-token') ?? data.token, user: data.user };
}

/**
 * Completes a two-factor sign-in (`POST /api/auth/two-factor/verify-totp`) with the challenge from
 * `signIn` and the current code of the authenticator app.
 */
export async function verifyTotp(
  baseUrl: string,
  challenge: string,
  code: string,
  options: VerifyTotpOptions = {},
): Promise<SignedIn> {
  const { data, error, response } = await client(baseUrl, options).POST('/api/auth/two-factor/verify-totp', {
    body: { code, ...(options.trustDevice === undefined ? {} : { trustDevice: options.trustDevice }) },
    headers: challenge ? { cookie: challenge } : {},
  });
  if (!response.ok) throw WardlineError.fromResponse(response, error);
  // Better Auth documents only `{ status }`, but answers with the session's token and user.
  const body = data as { token?: string; user?: AuthUser } | undefined;
  const token = response.headers.get('set-auth-token') ?? body?.token;
  if (!token || !body?.user) {
    throw new WardlineError(response.status, 'NO_SESSION', 'the server did not return a session', undefined, undefined);
  }
  return { status: 'signed-in', token, user: body.user };
}
