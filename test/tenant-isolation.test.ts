/**
 * Every endpoint, every tenant, automatically. Tenant A gets data (created through its own routes where
 * a sample body will do), then every list A can read is harvested for ids; tenant B then calls every
 * route that has path parameters with A's ids, as each of its roles. A route added later is covered
 * with no new test code: it is in the route catalog, its body schema is in the OpenAPI document, and
 * its records show up in A's lists.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { RouteEntry } from '../src/platform/http/http.plugin.js';
import { invalidPartMessage } from '../src/platform/http/errors.js';
import { RecordId } from '../src/platform/http/ids.js';
import { can, ROLES, type Role } from '../src/platform/permissions.js';
import { ORGANIZATION_HEADER } from '../src/platform/tenancy/tenancy.plugin.js';
import { type JsonSchema, sampleOf, sampleVariants } from './helpers/sample-body.js';
import { as, buildTestApp, createTenant, type Tenant, type TestApp } from './helpers/test-app.js';

interface Parameter {
  in: string;
  name: string;
  required?: boolean;
  schema?: JsonSchema;
}
interface Operation {
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
  responses?: Record<string, unknown>;
}
interface OpenApi {
  paths: Record<string, Record<string, Operation>>;
}

/** Ids as Wardline and Better Auth make them; shorter strings would match by chance in a body. */
const ID = /^[A-Za-z0-9_-]{8,64}$/;
/** Fields that change on their own (a session's sliding expiry), not through anyone's request. */
const VOLATILE = /^(updated|expires|lastUsed|lastActive|lastSeen|lastLogin)At$/;

let t: TestApp;
let a: Tenant;
let b: Tenant;
let openApi: OpenApi;

/** What A's answers hold: ids by where they were found, and other values B must never see (emails). */
const harvest = {
  ids: new Set<string>(),
  byField: new Map<string, Set<string>>(),
  /** By the path of the GET (or POST) that answered them: `/api/v1/users` holds A's user ids. */
  byPath: new Map<string, Set<string>>(),
  /** By the resource of the route that answered them (`units` for `/api/v1/hospitals/:id/units`). */
  byKind: new Map<string, Set<string>>(),
  markers: new Set<string>(),
};
/** Routes with path parameters that gave A one of its records: proof that the ids B is given are real. */
const readByA = new Set<string>();
/** POST routes A created a record with, from a sample body. */
const created = new Set<string>();

const paramsOf = (url: string) => [...url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);
const operationOf = (route: RouteEntry): Operation | undefined =>
  openApi.paths[route.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')]?.[route.method.toLowerCase()];
/** Better Auth's endpoints authenticate their callers themselves and are covered by the auth tests. */
const guarded = (route: RouteEntry) => route.config.access !== 'public' && route.config.access !== 'better-auth';
const isList = (route: RouteEntry) => route.method === 'GET' && paramsOf(route.url).length === 0;
const mayCall = (route: RouteEntry, role: Role) =>
  route.config.permission ? can(role, route.config.permission) : route.config.access === 'signed-in';
const routes = () => t.app.routeCatalog.filter(guarded);
const key = (route: RouteEntry) => `${route.method} ${route.url}`;

function add(map: Map<string, Set<string>>, name: string, value: string) {
  const set = map.get(name) ?? new Set<string>();
  map.set(name, set.add(value));
}

/** Every id-like value (`id`, `...Id`, `...Ids`) and email in an answer of A, by field, path and route. */
function collect(value: unknown, path: string, kind: string, field = ''): void {
  if (Array.isArray(value)) for (const item of value) collect(item, path, kind, field);
  else if (value && typeof value === 'object')
    for (const [name, inner] of Object.entries(value)) collect(inner, path, kind, name);
  else if (typeof value === 'string') {
    // A request id only correlates log lines; B's own answers carry their own.
    if ((field === 'id' || /[a-z]Ids?$/.test(field)) && field !== 'requestId' && ID.test(value)) {
      harvest.ids.add(value);
      add(harvest.byField, field.replace(/s$/, ''), value);
      add(harvest.byPath, path, value);
      add(harvest.byKind, kind, value);
    } else if (/email$/i.test(field) && value.includes('@')) harvest.markers.add(value);
  }
}

function collectAnswer(res: LightMyRequestResponse, path: string, route: RouteEntry) {
  if (res.statusCode < 200 || res.statusCode >= 300) return;
  if (!String(res.headers['content-type']).includes('json')) return;
  collect(res.json(), path, route.url.split('/').findLast((segment) => !segment.startsWith(':')) ?? '');
}

/** A 400 from the route's schemas, before any handler ran: the sample, not the caller, was refused. */
const refusedSample = (res: LightMyRequestResponse) =>
  res.statusCode === 400 &&
  [invalidPartMessage('body'), invalidPartMessage('querystring')].includes(
    res.json<{ error?: { message?: string } }>().error?.message ?? '',
  );

const unique = (...lists: Iterable<string>[]) => [...new Set(lists.flatMap((list) => [...list]))];

/** One of the kinds of record harvested (one id from each answering route), for breadth. */
const oneOfEach = (except: string[] = []) =>
  [...harvest.byKind.values()].flatMap((ids) => [...ids].find((id) => !except.includes(id)) ?? []);

/**
 * A's id for a body or query field named `name`: one of A's patients for `patientId` (a field of that
 * name, or the list `/api/v1/patients`), else `fallback`. For a name nothing else has, later attempts
 * (A making its own records) try A's users (a practitioner, an author), then one record of every kind.
 */
function idFor(name: string, fallback: string, attempt: number) {
  const base = name.replace(/Ids?$/, '').toLowerCase();
  const listed = [...harvest.byPath].find(([path]) => base && path.split('/').at(-1)?.toLowerCase().startsWith(base));
  const known = unique(harvest.byField.get(name.replace(/s$/, '')) ?? [], listed?.[1] ?? []);
  if (known.length > 0) return known[attempt % known.length]!;
  const others = [fallback, ...ROLES.map((role) => a.users[role].id), ...oneOfEach()];
  return others[attempt % others.length]!;
}

interface Request {
  url: string;
  payload?: unknown;
  /** False when the generator knew it could not satisfy the body or query schema. */
  exact: boolean;
}

/** Which body sample (`sampleVariants`) and which of A's ids in it (`idFor`'s attempt) a route takes. */
interface BodyChoice {
  variant: number;
  attempt: number;
}
/** The body that passed a route's validation, found once per route by trying the variants. */
const bodyChoice = new Map<string, BodyChoice>();

/** The route's URL filled in, its required query parameters and a minimal valid body, from OpenAPI. */
function requestFor(
  route: RouteEntry,
  filled: string,
  ids: string[],
  choice: BodyChoice = bodyChoice.get(key(route)) ?? { variant: 0, attempt: 0 },
): Request {
  const operation = operationOf(route);
  const fallback = ids.at(-1) ?? a.organizationId;
  const options = { document: openApi, id: (name: string) => idFor(name, fallback, choice.attempt) };
  let exact = true;
  const query = new URLSearchParams();
  for (const parameter of operation?.parameters ?? []) {
    if (parameter.in !== 'query' || !parameter.required) continue;
    const sample = sampleOf(parameter.schema ?? {}, options, parameter.name);
    query.set(parameter.name, String(sample.value));
    exact &&= sample.exact;
  }
  const url = query.size ? `${filled}?${query.toString()}` : filled;
  const bodySchema = operation?.requestBody?.content?.['application/json']?.schema;
  if (!bodySchema || !['POST', 'PUT', 'PATCH'].includes(route.method)) return { url, exact };
  const variants = sampleVariants(bodySchema, options);
  const body = variants[Math.min(choice.variant, variants.length - 1)]!;
  return { url, payload: body.value, exact: exact && body.exact };
}

/** How many body samples a route has to try. */
function variantsOf(route: RouteEntry): number {
  const schema = operationOf(route)?.requestBody?.content?.['application/json']?.schema;
  return schema ? sampleVariants(schema, { document: openApi, id: () => a.organizationId }).length : 1;
}

/** Related ids tried per path parameter: more records of the same kind prove little more. */
const RELATED = 3;

/**
 * A's ids to try in one path parameter. First those related to it: from the list at the path's prefix
 * (`/api/v1/users` for `/api/v1/users/:id/role`) or from fields of the same name (`:patientId`). `wide`
 * adds one id of every other kind (one from each answer harvested), so that a route that looks in the
 * wrong table, or in none, is caught too. With nothing related, it is wide anyway.
 */
function valuesFor(route: RouteEntry, name: string, prefix: string, wide: boolean): string[] {
  const schema = operationOf(route)?.parameters?.find((p) => p.in === 'path' && p.name === name)?.schema;
  const fits = (id: string) => !schema || (!schema.enum && (!schema.pattern || new RegExp(schema.pattern).test(id)));
  // Not an id (an enum, a number): one sample value.
  if (!fits(a.organizationId)) return [String(sampleOf(schema!, { document: openApi, id: () => '' }, name).value)];
  // The same resource listed elsewhere: `/api/v1/hospitals/:id/units` lists what `/api/v1/units/:id` takes.
  const resource = prefix.split('/').at(-1);
  const listedElsewhere = [...harvest.byPath].filter(([path]) => path.split('/').at(-1) === resource);
  const related = unique(
    harvest.byPath.get(prefix) ?? [],
    name === 'id' ? [] : (harvest.byField.get(name) ?? []),
    ...listedElsewhere.map(([, ids]) => ids),
  ).slice(0, RELATED);
  if (!wide && related.length > 0) return related.filter(fits);
  return unique(related, oneOfEach(related), [a.organizationId]).filter(fits);
}

/** The route's path filled with A's ids: related ones for all but the last parameter, `wide` for the last. */
function fillings(route: RouteEntry, wide: boolean): { url: string; ids: string[] }[] {
  let partial = [{ url: route.url, ids: [] as string[] }];
  paramsOf(route.url).forEach((name, i, names) => {
    const last = i === names.length - 1;
    partial = partial.flatMap(({ url, ids }) => {
      const pattern = new RegExp(`:${name}(?![A-Za-z0-9_])`);
      const prefix = url.slice(0, url.search(pattern)).replace(/\/$/, '');
      const values = valuesFor(route, name, prefix, last && wide);
      return (last ? values : values.slice(0, 2)).map((v) => ({
        url: url.replace(pattern, encodeURIComponent(v)),
        ids: [...ids, v],
      }));
    });
  });
  return partial;
}

/** Runs `task` over `items` a few at a time, as concurrent clients would. */
async function eachConcurrently<T>(items: T[], task: (item: T) => Promise<void>, width = 4): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await task(items[next++]!);
    }),
  );
}

/** A's ids, emails and slug found in an answer, other than those the request itself sent. */
function leaksIn(body: string, sent: string): string[] {
  const markers = [...harvest.ids, ...harvest.markers, a.slug];
  return markers.filter((marker) => body.includes(marker) && !sent.includes(marker));
}

const callAs = (tenant: Tenant, role: Role, headers: Record<string, string> = {}) =>
  as(t.app, tenant.users[role].token, headers);

function send(tenant: Tenant, role: Role, method: RouteEntry['method'], request: Request, headers = {}) {
  const body = request.payload === undefined ? {} : { payload: request.payload as object };
  return callAs(tenant, role, headers)({ method, url: request.url, ...body });
}

/** Everything the request itself carried: an id B sent may come back (in an error message) without leaking. */
const sentIn = (request: Request) => request.url + JSON.stringify(request.payload ?? null);

/**
 * One round of A making and reading its own data: every route that creates (a POST declaring 201; other
 * POSTs are actions, not for A to run blindly on its own records) with a sample body, then every GET.
 */
async function harvestRound(seen: Set<string>) {
  const creates = (r: RouteEntry) => r.method === 'POST' && operationOf(r)?.responses?.['201'] !== undefined;
  for (const route of routes().filter((r) => creates(r) && !created.has(key(r)))) {
    const role = ROLES.find((r) => mayCall(route, r));
    const candidates = fillings(route, false);
    if (!role || candidates.length === 0) continue;
    // The schema refused the sample: another variant. The service refused it: other ids.
    let choice: BodyChoice = { variant: 0, attempt: 0 };
    for (let tries = 0; tries < 6; tries++) {
      const filling = candidates[choice.attempt % candidates.length]!;
      const res = await send(a, role, 'POST', requestFor(route, filling.url, filling.ids, choice));
      collectAnswer(res, filling.url, route);
      if (res.statusCode < 300) {
        created.add(key(route));
        bodyChoice.set(key(route), choice);
        break;
      }
      if (!refusedSample(res)) choice = { ...choice, attempt: choice.attempt + 1 };
      else if (choice.variant + 1 < variantsOf(route)) choice = { ...choice, variant: choice.variant + 1 };
      else break;
    }
  }
  for (const route of routes().filter((r) => r.method === 'GET')) {
    // Lists again each round (the round's POSTs may have added to them); one record's URL once.
    for (const { url, ids } of isList(route) ? [{ url: route.url, ids: [] }] : fillings(route, false)) {
      for (const role of ROLES.filter((r) => mayCall(route, r) && !seen.has(`${r} ${url}`))) {
        if (!isList(route)) seen.add(`${role} ${url}`);
        const res = await callAs(a, role)({ method: 'GET', url: requestFor(route, url, ids).url });
        if (!isList(route) && res.statusCode === 200) readByA.add(key(route));
        collectAnswer(res, url, route);
      }
    }
  }
}

/** Every record in A's lists (all pages), by role and path: what B's calls must leave as it was. */
async function snapshotOfA() {
  const snapshot = new Map<string, Map<string, unknown>>();
  for (const route of routes().filter(isList)) {
    for (const role of ROLES.filter((r) => mayCall(route, r))) {
      const records = new Map<string, unknown>();
      const base = requestFor(route, route.url, []).url;
      let cursor: string | null = null;
      for (let page = 0; page < 50; page++) {
        const url = cursor ? `${base}${base.includes('?') ? '&' : '?'}cursor=${encodeURIComponent(cursor)}` : base;
        const res = await callAs(a, role)({ method: 'GET', url });
        if (res.statusCode !== 200 || !String(res.headers['content-type']).includes('json')) break;
        const json = res.json<{ data?: unknown; nextCursor?: unknown }>();
        if (!Array.isArray(json.data)) break;
        for (const item of json.data as Record<string, unknown>[]) {
          if (typeof item.id !== 'string') continue;
          records.set(item.id, Object.fromEntries(Object.entries(item).filter(([name]) => !VOLATILE.test(name))));
        }
        cursor = typeof json.nextCursor === 'string' ? json.nextCursor : null;
        if (!cursor) break;
      }
      snapshot.set(`${role} ${route.url}`, records);
    }
  }
  return snapshot;
}

let before: Map<string, Map<string, unknown>>;
const invitee = `invitee.${Date.now()}@example.test`;
let invitationId: string;

beforeAll(async () => {
  t = await buildTestApp();
  [a, b] = await Promise.all([createTenant(t.app), createTenant(t.app)]);
  openApi = (await t.app.inject({ method: 'GET', url: '/api/docs/openapi.json' })).json<OpenApi>();
  const invitation = await send(a, 'admin', 'POST', {
    url: '/api/v1/invitations',
    payload: { email: invitee, role: 'nurse' },
    exact: true,
  });
  expect(invitation.statusCode).toBe(201);
  invitationId = invitation.json<{ id: string }>().id;
  collect(invitation.json(), '/api/v1/invitations', 'invitations');
  for (const user of Object.values(a.users)) {
    harvest.ids.add(user.id);
    harvest.markers.add(user.email);
  }
  harvest.ids.add(a.organizationId);
  // Later rounds reach what earlier ones made possible: a nested list once its parent's id is known.
  const seen = new Set<string>();
  for (let round = 0; round < 3; round++) {
    const known = harvest.ids.size;
    await harvestRound(seen);
    if (round > 0 && harvest.ids.size === known) break;
  }
  before = await snapshotOfA();
}, 180_000);
afterAll(() => t.close());

// Thousands of requests once the clinical modules are in: more than the default 30 s on a busy machine.
describe("tenant isolation: B against A's records, on every route", { timeout: 120_000 }, () => {
  it("harvested A's records from its lists", () => {
    expect([...(harvest.byPath.get('/api/v1/users') ?? [])]).toEqual(
      expect.arrayContaining(Object.values(a.users).map((u) => u.id)),
    );
    expect(harvest.byPath.get('/api/v1/invitations')).toContain(invitationId);
    expect(harvest.markers).toContain(invitee);
    // Made from a sample body: how a later module's records appear with no code here.
    expect(created).toContain('POST /api/v1/invitations');
  });

  it("B's lists show none of A's records, even filtered by A's ids", async () => {
    const violations: string[] = [];
    // A query parameter that takes an id (`?patientId=`, `?actor=`) is given A's.
    const takesId = (p: Parameter) =>
      p.in === 'query' &&
      (p.name === 'id' || /[a-z]Id$/.test(p.name) || !!p.schema?.pattern?.includes('A-Za-z0-9_-')) &&
      !p.schema?.enum;
    // Unfiltered as every role; filtered as the roles the list answers (the others are refused unread).
    const calls = routes()
      .filter(isList)
      .flatMap((route) => {
        const base = requestFor(route, route.url, []).url;
        const filtered = (operationOf(route)?.parameters ?? []).filter(takesId).flatMap((filter) =>
          valuesFor(route, filter.name, '', false)
            .slice(0, RELATED)
            .map((id) => {
              const url = new URL(base, 'http://localhost');
              url.searchParams.set(filter.name, id);
              return url.pathname + url.search;
            }),
        );
        return [
          ...ROLES.map((role) => ({ role, url: base })),
          ...ROLES.filter((role) => mayCall(route, role)).flatMap((role) => filtered.map((url) => ({ role, url }))),
        ];
      });
    await eachConcurrently(calls, async ({ url, role }) => {
      const res = await callAs(b, role)({ method: 'GET', url });
      if (res.statusCode >= 500) violations.push(`${role} GET ${url}: ${res.statusCode}`);
      for (const leak of leaksIn(res.body, url))
        violations.push(`${role} GET ${url}: ${res.statusCode}, the answer holds A's ${leak}`);
    });
    console.info(`tenant isolation: ${calls.length} calls as B to its lists, some filtered by A's ids`);
    expect(violations.sort()).toEqual([]);
  });

  it("every route with path parameters answers 403 or 404 to every role of B, with A's ids", async () => {
    const withParams = routes().filter((route) => paramsOf(route.url).length > 0);
    const violations: string[] = [];
    const exercised = new Set<string>();
    let unsatisfied = 0;
    // A body the schema refuses never reaches the record: find, once per route, one it accepts.
    for (const route of withParams.filter((r) => !bodyChoice.has(key(r)) && variantsOf(r) > 1)) {
      const role = ROLES.find((r) => mayCall(route, r));
      const filling = fillings(route, false)[0];
      if (!role || !filling) continue;
      for (let variant = 0; variant < variantsOf(route); variant++) {
        const choice = { variant, attempt: 0 };
        const res = await send(b, role, route.method, requestFor(route, filling.url, filling.ids, choice));
        if (refusedSample(res)) continue;
        bodyChoice.set(key(route), choice);
        break;
      }
    }
    // The first role the route allows gets related ids and one of every other kind; the other allowed
    // roles, related ids; a role without the permission is refused before any record is read: one call.
    const calls = withParams.flatMap((route) =>
      ROLES.flatMap((role) =>
        (mayCall(route, role)
          ? fillings(route, role === ROLES.find((r) => mayCall(route, r)))
          : fillings(route, false).slice(0, 1)
        ).map((filling) => ({
          route,
          role,
          request: requestFor(route, filling.url, filling.ids),
        })),
      ),
    );
    await eachConcurrently(calls, async ({ route, role, request }) => {
      const res = await send(b, role, route.method, request);
      exercised.add(key(route));
      const status = res.statusCode;
      const where = `${role} ${route.method} ${request.url}`;
      if (refusedSample(res)) unsatisfied++;
      else if (status !== 403 && status !== 404)
        violations.push(`${where}: ${status}, expected 403 or 404 (${res.body.slice(0, 200)})`);
      for (const leak of leaksIn(res.body, sentIn(request)))
        violations.push(`${where}: ${status}, the answer holds A's ${leak}`);
    });
    const readable = withParams.filter((route) => route.method === 'GET');
    console.info(
      `tenant isolation: ${exercised.size} routes with path parameters, ${calls.length} calls as B with ` +
        `${harvest.ids.size} of A's ids; ${unsatisfied} answered 400 to a sample body their schema refused; ` +
        `${readByA.size} of ${readable.length} GET routes with parameters gave A a record with the same ids; ` +
        `A created records through ${created.size} POST routes (${[...created].join(', ')})`,
    );
    expect(violations.sort()).toEqual([]);
    expect(exercised.size).toBeGreaterThanOrEqual(withParams.length);
    expect(withParams.length).toBeGreaterThan(0);
    // Else B's 404s would prove nothing: the same ids, as A, find records.
    expect(readByA.size).toBeGreaterThan(0);
  });

  it(`a member of B naming A in ${ORGANIZATION_HEADER} gets 403 on every tenant route`, async () => {
    const violations: string[] = [];
    // Routes about the organization in their path do not read the header (B gets 404 there, above).
    const tenantRoutes = routes().filter((route) => route.config.permission && !route.config.organizationParam);
    expect(tenantRoutes.filter(isList).length).toBeGreaterThan(0);
    for (const route of tenantRoutes) {
      const filling = fillings(route, false)[0] ?? { url: route.url, ids: [] };
      const request = requestFor(route, filling.url, filling.ids);
      // Every role on the lists; on the other routes, the first role the route allows (the header is
      // checked before the permission, so the others prove nothing more).
      for (const role of isList(route) ? ROLES : ROLES.filter((r) => r === ROLES.find((x) => mayCall(route, x)))) {
        const res = await send(b, role, route.method, request, { [ORGANIZATION_HEADER]: a.organizationId });
        const where = `${role} ${route.method} ${request.url}`;
        if (res.statusCode !== 403) violations.push(`${where}: ${res.statusCode}, expected 403`);
        for (const leak of leaksIn(res.body, sentIn(request)))
          violations.push(`${where}: the answer holds A's ${leak}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it("left A's data as it was", async () => {
    const after = await snapshotOfA();
    const changes: string[] = [];
    for (const [list, records] of before) {
      for (const [id, record] of records) {
        const now = after.get(list)?.get(id);
        if (now === undefined) changes.push(`${list}: ${id} is gone`);
        else if (JSON.stringify(now) !== JSON.stringify(record))
          changes.push(`${list}: ${id} changed from ${JSON.stringify(record)} to ${JSON.stringify(now)}`);
      }
    }
    expect(changes).toEqual([]);
    expect(before.get('admin /api/v1/users')?.size).toBe(ROLES.length);

    const users = await callAs(a, 'admin')({ method: 'GET', url: '/api/v1/users?limit=100' });
    const roles = Object.fromEntries(users.json().data.map((u: { id: string; role: string }) => [u.id, u.role]));
    expect(roles).toEqual(Object.fromEntries(ROLES.map((role) => [a.users[role].id, role])));
    const invitations = await callAs(a, 'admin')({ method: 'GET', url: '/api/v1/invitations?limit=100' });
    expect(invitations.json().data).toContainEqual(expect.objectContaining({ id: invitationId, status: 'pending' }));
    const organization = await callAs(a, 'admin')({ method: 'GET', url: `/api/v1/organizations/${a.organizationId}` });
    expect(organization.json()).toMatchObject({ id: a.organizationId, slug: a.slug });
    // Every one of A's sessions still works, and A's audit chain still holds.
    for (const role of ROLES)
      expect((await callAs(a, role)({ method: 'GET', url: '/api/v1/profile' })).statusCode).toBe(200);
    const chain = await callAs(a, 'admin')({ method: 'GET', url: '/api/v1/audit-events/verify' });
    expect(chain.json().broken).toBeNull();
  });
});

describe('the sample body generator', () => {
  it("makes bodies that schemas like the clinical modules' accept, with the given ids", () => {
    const bodies = [
      z.object({
        patientId: RecordId,
        startsAt: z.iso.datetime({ offset: true }),
        birthDate: z.iso.date(),
        minutes: z.number().int().min(5).max(480).multipleOf(5),
        code: z.string().regex(/^[A-Z0-9]{6,12}$/),
        kind: z.enum(['visit', 'call']),
        tags: z.array(z.string().min(1)).min(1),
        note: z.string().optional(),
      }),
      z
        .object({ name: z.string().min(2), ward: z.string() })
        .partial()
        .refine((patch) => Object.keys(patch).length > 0),
    ];
    for (const body of bodies) {
      const schema = z.toJSONSchema(body, { io: 'input' }) as JsonSchema;
      const sample = sampleOf(schema, { document: {}, id: (name) => `id-of-${name}` });
      expect(sample.exact).toBe(true);
      expect(body.safeParse(sample.value).success).toBe(true);
    }
    const appointment = sampleOf(z.toJSONSchema(bodies[0]!, { io: 'input' }) as JsonSchema, {
      document: {},
      id: (name) => `id-of-${name}`,
    });
    expect(appointment.value).toMatchObject({ patientId: 'id-of-patientId' });
    expect(sampleOf({ type: 'string', pattern: '^(a|b)c{3}$' }, { document: {}, id: () => 'x' }).exact).toBe(false);
  });
});
