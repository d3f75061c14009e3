import type { Role } from '../permissions.js';

/**
 * The shape every real-time event shares: `seq` increases monotonically per organization, and the
 * same event is kept durably (the module that emits it owns that), so a client that missed it over
 * the socket asks for everything after the last `seq` it saw.
 */
export interface SequencedEvent {
  seq: number;
}

/**
 * Event name -> payload of what the server sends to sockets. Empty here: each module adds its own by
 * declaration merging, e.g. in the alerts module:
 *
 * ```ts
 * declare module '../../platform/realtime/events.js' {
 *   interface ServerEvents {
 *     'alert:new': AlertEvent; // AlertEvent extends SequencedEvent
 *   }
 * }
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by declaration merging
export interface ServerEvents {}

export type ServerEventName = keyof ServerEvents;

/**
 * Sent by the platform itself to each socket once it is admitted: where it is, and whether socket.io
 * recovered its session (then the events it missed follow). It also gives the client a recovery
 * offset at once, so even a socket that has received nothing else yet can recover after a drop.
 */
export interface ReadyEvent {
  organizationId: string;
  userId: string;
  recovered: boolean;
}

/** socket.io's map of server-to-client listeners, derived from ServerEvents. */
export type ServerToClientEvents = {
  [E in ServerEventName]: (payload: ServerEvents[E]) => void;
} & { 'realtime:ready': (payload: ReadyEvent) => void };

/** Sockets send nothing: there is no client-driven join, so there is nothing to ask for. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- deliberately none
export interface ClientToServerEvents {}

/** What the server keeps on each socket (persisted with its session for connection state recovery). */
export interface SocketData {
  userId: string;
  organizationId: string;
  role: Role;
}

/**
 * Room names. Every name starts with the organization, so a name built for one tenant can never
 * address another's sockets; sockets join only rooms the server computes from their credentials.
 */
export const rooms = {
  organization: (organizationId: string) => `org:${organizationId}`,
  user: (organizationId: string, userId: string) => `user:${organizationId}:${userId}`,
  hospital: (organizationId: string, hospitalId: string) => `hospital:${organizationId}:${hospitalId}`,
  /** Used only to leave out roles that lack a permission (`withPermission`). */
  role: (organizationId: string, role: Role) => `role:${organizationId}:${role}`,
};
