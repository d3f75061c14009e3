import createClient, { type FetchOptions, type FetchResponse, type MaybeOptionalInit } from 'openapi-fetch';
import type { HttpMethod, MediaType, PathsWithMethod, RequiredKeysOf } from 'openapi-typescript-helpers';
import { WardlineError } from './errors.js';
import type { components, paths } from './generated/openapi.js';
import { type AlertEvent, type SubscribeAlertsOptions, subscribeAlerts, type Unsubscribe } from './realtime.js';
import { type RetryOptions, retryingFetch } from './retry.js';

export interface WardlineClientOptions {
  /** Where Wardline listens, e.g. `http://127.0.0.1:5000` (no `/api` suffix). */
  baseUrl: string;
  /** A session token from `signIn`, sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** An API key (`wl_...`), sent as `x-api-key`. */
  apiKey?: string;
  /** The organization to act in, for a caller who belongs to several; sent as `x-organization-id`. */
  organizationId?: string;
  /** The fetch to use (default: the global one). */
  fetch?: (request: Request) => Promise<Response>;
  /** Retrying of idempotent requests on 503 and 429; `false` for none. */
  retry?: RetryOptions | false;
}

type Init<P extends keyof paths, M extends HttpMethod> = MaybeOptionalInit<paths[P], M>;

/** The options argument is optional exactly when nothing in it is required (as in openapi-fetch). */
type InitParam<I> =
  RequiredKeysOf<I> extends never ? [(I & { [key: string]: unknown })?] : [I & { [key: string]: unknown }];

/** The body of a successful answer. */
export type SuccessData<
  P extends keyof paths,
  M extends HttpMethod,
  I = Init<P, M>,
> = paths[P][M] extends infer Operation extends Record<string | number, unknown>
  ? Extract<FetchResponse<Operation, I, MediaType>, { error?: never }>['data']
  : never;

/** A successful answer: its parsed body and the `Response` (for headers). Errors are thrown as `WardlineError`. */
export interface WardlineResponse<T> {
  data: T;
  response: Response;
}

type Method<M extends HttpMethod> = <P extends PathsWithMethod<paths, M>, I extends Init<P, M>>(
  path: P,
  ...init: InitParam<I>
) => Promise<WardlineResponse<SuccessData<P, M, I>>>;

type GetPath = PathsWithMethod<paths, 'get'>;

/** GET routes that answer a cursor page, `{ data: [...], nextCursor }`. */
export type ListPath = {
  [P in GetPath]: SuccessData<P, 'get'> extends { data: readonly unknown[]; nextCursor: string | null } ? P : never;
}[GetPath];

/** The items of a list route. */
export type ListItem<P extends ListPath> = SuccessData<P, 'get'> extends { data: readonly (infer T)[] } ? T : never;

type ListParameters<P extends ListPath> = paths[P]['get']['parameters'];

/** The options of `paginate`: those of a GET, without the cursor (which `paginate` sets). */
export type PaginateOptions<P extends ListPath> = Omit<FetchOptions<paths[P]['get']>, 'params'> & {
  params?: Omit<ListParameters<P>, 'query'> & { query?: Omit<NonNullable<ListParameters<P>['query']>, 'cursor'> };
};

export interface WardlineClient {
  GET: Method<'get'>;
  POST: Method<'post'>;
  PUT: Method<'put'>;
  PATCH: Method<'patch'>;
  DELETE: Method<'delete'>;
  /** Every item of a cursor list, page after page (`limit` in the query sets the page size). */
  paginate<P extends ListPath>(path: P, options?: PaginateOptions<P>): AsyncGenerator<ListItem<P>, void, undefined>;
  alerts: {
    /**
     * The organization's alert events, live over the socket and caught up from the events route after
     * every (re)connect: each once, in `seq` order (see `subscribeAlerts`).
     */
    subscribe(
      onEvent: (event: AlertEvent<components['schemas']['Alert']>) => void,
      options?: SubscribeAlertsOptions,
    ): Unsubscribe;
  };
}

/** openapi-fetch's methods, seen without their per-path types (the typed surface is `WardlineClient`'s). */
type UntypedMethod = (
  path: string,
  init?: Record<string, unknown>,
) => Promise<{ data?: unknown; error?: unknown; response: Response }>;

/** A typed client for the Wardline API; every failed request throws a `WardlineError`. */
export function createWardlineClient(options: WardlineClientOptions): WardlineClient {
  const baseFetch = options.fetch ?? ((request: Request) => globalThis.fetch(request));
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.apiKey) headers['x-api-key'] = options.apiKey;
  if (options.organizationId) headers['x-organization-id'] = options.organizationId;
  const raw = createClient<paths>({
    baseUrl: options.baseUrl,
    headers,
    fetch: options.retry === false ? baseFetch : retryingFetch(baseFetch, options.retry),
  });

  const throwing =
    (method: UntypedMethod): UntypedMethod =>
    async (path, init) => {
      const { data, error, response } = await method(path, init);
      if (!response.ok) throw WardlineError.fromResponse(response, error);
      return { data, response };
    };
  const GET = throwing(raw.GET as unknown as UntypedMethod);

  return {
    GET: GET as unknown as Method<'get'>,
    POST: throwing(raw.POST as unknown as UntypedMethod) as unknown as Method<'post'>,
    PUT: throwing(raw.PUT as unknown as UntypedMethod) as unknown as Method<'put'>,
    PATCH: throwing(raw.PATCH as unknown as UntypedMethod) as unknown as Method<'patch'>,
    DELETE: throwing(raw.DELETE as unknown as UntypedMethod) as unknown as Method<'delete'>,
    alerts: {
      subscribe: (onEvent, subscribeOptions) => subscribeAlerts(options, onEvent, subscribeOptions),
    },
    async *paginate<P extends ListPath>(path: P, init?: PaginateOptions<P>) {
      const params = (init?.params ?? {}) as { query?: Record<string, unknown> };
      let cursor: string | null = null;
      do {
        const query = cursor === null ? params.query : { ...params.query, cursor };
        const { data } = await GET(path, { ...init, params: { ...params, query } });
        const page = data as { data: ListItem<P>[]; nextCursor: string | null };
        yield* page.data;
        cursor = page.nextCursor;
      } while (cursor !== null);
    },
  };
}
