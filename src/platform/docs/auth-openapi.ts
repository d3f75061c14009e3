import { AUTH_ENDPOINTS, type AuthEndpoint } from '../auth/auth-endpoints.js';
import { API_KEY_HEADER, AUTH_BASE_PATH } from '../auth/auth.js';
import { codeToStatus, statusToCode } from '../http/errors.js';

export type SecurityRequirement = Record<string, string[]>;
export type Operation = {
  responses?: Record<string, unknown>;
  requestBody?: unknown;
  security?: SecurityRequirement[];
  [key: string]: unknown;
};
export type OpenApiDocument = {
  paths?: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, unknown>; securitySchemes?: Record<string, unknown> };
  security?: SecurityRequirement[];
  tags?: { name: string; description?: string }[];
};

export const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

type AuthAccess = NonNullable<AuthEndpoint['access']> | 'session';

const SESSION: SecurityRequirement[] = [{ session: [] }, { bearer: [] }];
const SECURITY: Record<AuthAccess, SecurityRequirement[]> = {
  public: [],
  // `{}` is OpenAPI's "or no credential at all".
  optional: [...SESSION, {}],
  session: SESSION,
  'two-factor': [...SESSION, { twoFactorChallenge: [] }],
};

/** The scheme names used in this document, with the cookie names Better Auth really sets. */
export function securitySchemes(cookies: { session: string; twoFactor: string }) {
  return {
    session: { type: 'apiKey', in: 'cookie', name: cookies.session },
    bearer: { type: 'http', scheme: 'bearer', description: 'The token returned by sign-in' },
    apiKey: { type: 'apiKey', in: 'header', name: API_KEY_HEADER, description: 'Accepted by /api/v1 only' },
    twoFactorChallenge: {
      type: 'apiKey',
      in: 'cookie',
      name: cookies.twoFactor,
      description: 'Set by a sign-in that needs a second factor; valid for that second step only',
    },
  } as const;
}

/**
 * Better Auth documents its own statuses, but relay() in auth.plugin.ts sends each through
 * statusToCode and codeToStatus (422 becomes 409 CONFLICT), in our envelope. Its rate limiter is off:
 * 429 comes from ours, on the guarded endpoints only.
 */
function wardlineStatuses(
  path: string,
  endpoint: AuthEndpoint,
  responses: Record<string, unknown>,
): Record<string, unknown> {
  const sent: Record<string, unknown> = {};
  for (const [status, response] of Object.entries(responses)) {
    const numeric = Number(status);
    if (!(numeric >= 400)) {
      sent[status] = response;
      continue;
    }
    if (numeric === 429) continue;
    const code = statusToCode(numeric);
    const wardline = String(codeToStatus(code));
    const description = (response as { description?: string }).description ?? code;
    // Better Auth's text starts with the reason phrase of its own status ("Unprocessable Entity. ...").
    const reason = description.replace(/^[^.]*\.\s*/, '');
    sent[wardline] ??= errorResponse(wardline === status ? description : `${code}: ${reason || code}`);
  }
  if (endpoint.guarded) {
    // Sign-in and the password re-checks also sit behind the per-account lockout (auth.plugin.ts).
    const lockout = endpoint.checksPassword || path === '/sign-in/email';
    sent['429'] = errorResponse(
      `Too many attempts from this address${lockout ? ', or too many wrong passwords for this account' : ''}` +
        '; see Retry-After',
    );
  }
  return sent;
}

/** A sign-in of an account with two-factor on: no session yet (the twoFactor plugin's after hook). */
const TWO_FACTOR_CHALLENGE = {
  type: 'object',
  description:
    'The account has two-factor enabled, so no session was made. The challenge cookie set with this reply ' +
    `goes to ${AUTH_BASE_PATH}/two-factor/verify-totp or ${AUTH_BASE_PATH}/two-factor/verify-backup-code, which ` +
    'answer with the session.',
  properties: {
    twoFactorRedirect: { type: 'boolean', const: true },
    // "otp" is listed only when an OTP sender is configured, and Wardline configures none.
    twoFactorMethods: { type: 'array', items: { type: 'string', enum: ['totp'] } },
  },
  required: ['twoFactorRedirect', 'twoFactorMethods'],
};

function documentTwoFactorSignIn(operation: Operation) {
  const ok = operation.responses?.['200'] as
    { description?: string; content?: Record<string, { schema?: unknown }> } | undefined;
  const json = ok?.content?.['application/json'];
  if (!ok || !json?.schema) throw new Error('the auth document has no 200 response for sign-in');
  ok.description = 'Signed in (the session token and user), or a two-factor challenge';
  json.schema = { oneOf: [json.schema, TWO_FACTOR_CHALLENGE] };
}

/** OpenAPI 3.0's `nullable: true` (Better Auth's) in OpenAPI 3.1's JSON Schema form, throughout. */
export function withoutNullable(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutNullable);
  if (typeof node !== 'object' || node === null) return node;
  const converted = Object.fromEntries(Object.entries(node).map(([key, value]) => [key, withoutNullable(value)]));
  // A boolean, so a property that happens to be named "nullable" is left alone.
  if (typeof converted.nullable !== 'boolean') return converted;
  const { nullable, ...schema } = converted;
  if (!nullable) return schema;
  if (typeof schema.type === 'string' && schema.$ref === undefined) {
    // An enum restricts the type further: null has to be one of its values too.
    const values = schema.enum as unknown[] | undefined;
    return { ...schema, type: [schema.type, 'null'], ...(values ? { enum: [...values, null] } : {}) };
  }
  return { anyOf: [schema, { type: 'null' }] };
}

/**
 * Better Auth's own OpenAPI description of /api/auth/*, as Wardline serves it: re-rooted under our
 * prefix, its schemas renamed so they cannot clash with ours, its errors in our envelope and statuses,
 * and its security in our schemes.
 */
export function authPaths(document: OpenApiDocument): Pick<OpenApiDocument, 'paths' | 'components'> {
  const renamed = withoutNullable(
    JSON.parse(JSON.stringify(document).replaceAll('#/components/schemas/', '#/components/schemas/Auth')),
  ) as OpenApiDocument;
  const paths: NonNullable<OpenApiDocument['paths']> = {};
  for (const [path, allOperations] of Object.entries(renamed.paths ?? {})) {
    // Only what Wardline exposes (AUTH_ENDPOINTS), with the one method it is routed for.
    const exposed = AUTH_ENDPOINTS[path];
    const operation = exposed ? allOperations[exposed.method.toLowerCase()] : undefined;
    if (!exposed || !operation) continue;
    operation.tags = ['auth'];
    operation.security = SECURITY[exposed.access ?? 'session'];
    operation.responses = wardlineStatuses(path, exposed, operation.responses ?? {});
    paths[`${AUTH_BASE_PATH}${path}`] = { [exposed.method.toLowerCase()]: operation };
  }
  const signIn = paths[`${AUTH_BASE_PATH}/sign-in/email`]?.post;
  if (!signIn) throw new Error('the auth document has no sign-in');
  documentTwoFactorSignIn(signIn);
  // Every step of an invitation takes its secret token (see requestRules in auth.ts).
  for (const [path, description] of [
    ['/sign-up/email', 'The token of the open invitation for this email (sign-up is by invitation only).'],
    ['/organization/accept-invitation', 'The token of this invitation, shown once to the inviting admin.'],
    ['/organization/reject-invitation', 'The token of this invitation, shown once to the inviting admin.'],
  ] as const) {
    const operation = paths[`${AUTH_BASE_PATH}${path}`]?.post as
      | { requestBody?: { content?: Record<string, { schema?: { properties?: object; required?: string[] } }> } }
      | undefined;
    const schema = operation?.requestBody?.content?.['application/json']?.schema;
    if (!schema) throw new Error(`the auth document has no request body for ${path}`);
    schema.properties = { ...schema.properties, invitationToken: { type: 'string', description } };
    schema.required = [...(schema.required ?? []), 'invitationToken'];
  }
  const schemas = Object.fromEntries(
    Object.entries(renamed.components?.schemas ?? {}).map(([name, schema]) => [`Auth${name}`, schema]),
  );
  return { paths, components: { schemas } };
}
