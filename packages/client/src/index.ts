export { signIn, verifyTotp } from './auth.js';
export type { AuthOptions, AuthUser, SignedIn, SignInResult, TwoFactorRequired, VerifyTotpOptions } from './auth.js';
export { createWardlineClient } from './client.js';
export type {
  ListItem,
  ListPath,
  PaginateOptions,
  SuccessData,
  WardlineClient,
  WardlineClientOptions,
  WardlineResponse,
} from './client.js';
export { WardlineError } from './errors.js';
export type { ErrorEnvelope, WardlineErrorDetail } from './errors.js';
export type { RetryOptions } from './retry.js';
export { retryAfterMs, retryingFetch } from './retry.js';
export type { components, operations, paths } from './generated/openapi.js';
export { ALERT_EVENT_TYPES, subscribeAlerts } from './realtime.js';
export type { AlertEvent, AlertEventType, SubscribeAlertsOptions, SubscriptionState, Unsubscribe } from './realtime.js';
