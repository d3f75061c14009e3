import type { BroadcastOperator } from 'socket.io';
import { can, type Permission, ROLES } from '../permissions.js';
import { rooms, type ServerEventName, type ServerEvents, type SequencedEvent } from './events.js';

type Operator = BroadcastOperator<Record<string, (payload: unknown) => void>, unknown>;

/** The socket.io server to broadcast through, or undefined when there is none (yet, or any more). */
export type BroadcastSource = () => { to(room: string): Operator } | undefined;

/** One target of a broadcast: a room of one organization, optionally narrowed to a permission. */
export class Broadcast {
  constructor(
    private readonly server: BroadcastSource,
    private readonly organizationId: string,
    private readonly room: string,
    private readonly excluded: readonly string[] = [],
  ) {}

  /**
   * Only sockets whose role in the organization has `permission` (e.g. `alerts:read`): sockets of the
   * other roles are left out. Checked against the role each socket had at its handshake or last
   * recheck (REALTIME_RECHECK_SECONDS).
   */
  withPermission(permission: Permission): Broadcast {
    const lacking = ROLES.filter((role) => !can(role, permission)).map((role) => rooms.role(this.organizationId, role));
    return new Broadcast(this.server, this.organizationId, this.room, [...new Set([...this.excluded, ...lacking])]);
  }

  /**
   * Sends the event to every socket in the room, on every instance (through Redis when configured).
   * Fire and forget: costs no database query, and does nothing before the server is attached or
   * after it closed. Call it after the change it announces has committed (`work.afterCommit`).
   */
  emit<E extends ServerEventName>(event: E, payload: ServerEvents[E] & SequencedEvent): void {
    const server = this.server();
    if (!server) return;
    let operator = server.to(this.room);
    if (this.excluded.length > 0) operator = operator.except([...this.excluded]);
    operator.emit(event, payload);
  }
}
