import { and, asc, desc, eq, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import { members, users } from '../../platform/auth/auth.schema.js';
import { TenantRepository } from '../../platform/db/tenant-repository.js';
import type { Cursor } from '../../platform/http/pagination.js';
import { hospitals } from '../hospitals/hospitals.schema.js';
import { escalationPolicies, notificationPreferences, notifications, pushSubscriptions } from './alerts.schema.js';
import type { ChannelChoice } from './escalation-policy.js';

export type NotificationRow = typeof notifications.$inferSelect;

/** All SQL on one organization's people as alerts reach them: in-app notifications, channel choices, push subscriptions. */
export class NotificationsRepository extends TenantRepository {
  /** Each active hospital's default channels (null where it has not chosen). */
  hospitalChannels() {
    const p = escalationPolicies;
    return this.db
      .select({ hospitalId: hospitals.id, channels: p.channels })
      .from(hospitals)
      .leftJoin(p, and(eq(p.organizationId, hospitals.organizationId), eq(p.hospitalId, hospitals.id)))
      .where(this.where(hospitals, eq(hospitals.active, true)))
      .orderBy(asc(hospitals.name));
  }

  /** People's own channel choices, by user id (those without one are left out). */
  async preferencesOf(userIds: string[]): Promise<Map<string, ChannelChoice>> {
    if (userIds.length === 0) return new Map();
    const n = notificationPreferences;
    const rows = await this.db
      .select({ userId: n.userId, channels: n.channels })
      .from(n)
      .where(this.where(n, inArray(n.userId, userIds)));
    return new Map(rows.map((row) => [row.userId, row.channels]));
  }

  async savePreferences(userId: string, channels: ChannelChoice, at: Date) {
    const n = notificationPreferences;
    await this.db
      .insert(n)
      .values(this.owned({ userId, channels, createdAt: at, updatedAt: at }))
      .onConflictDoUpdate({ target: [n.organizationId, n.userId], set: { channels, updatedAt: at } });
  }

  /** The email address of a member of this organization (undefined for anyone else). */
  async memberEmail(userId: string): Promise<string | undefined> {
    const [row] = await this.db
      .select({ email: users.email })
      .from(members)
      .innerJoin(users, eq(users.id, members.userId))
      .where(this.where(members, eq(members.userId, userId)));
    return row?.email;
  }

  pushSubscriptionsOf(userId: string) {
    const s = pushSubscriptions;
    return this.db
      .select()
      .from(s)
      .where(this.where(s, eq(s.userId, userId)))
      .orderBy(asc(s.createdAt), asc(s.id));
  }

  /** Adds the browser's subscription, or moves an endpoint already known (a shared device) to this person. */
  async savePushSubscription(userId: string, endpoint: string, p256dh: string, auth: string, at: Date) {
    const s = pushSubscriptions;
    const [row] = await this.db
      .insert(s)
      .values(this.owned({ userId, endpoint, p256dh, auth, createdAt: at, updatedAt: at }))
      .onConflictDoUpdate({ target: [s.organizationId, s.endpoint], set: { userId, p256dh, auth, updatedAt: at } })
      .returning();
    return row!;
  }

  /** Deletes subscriptions by id; `userId` limits it to that person's. Returns how many went. */
  async deletePushSubscriptions(ids: string[], userId?: string): Promise<number> {
    if (ids.length === 0) return 0;
    const s = pushSubscriptions;
    const gone = await this.db
      .delete(s)
      .where(this.where(s, inArray(s.id, ids), userId ? eq(s.userId, userId) : undefined))
      .returning({ id: s.id });
    return gone.length;
  }

  async insertNotifications(rows: Omit<typeof notifications.$inferInsert, 'organizationId' | 'id'>[]) {
    if (rows.length === 0) return [];
    return this.db
      .insert(notifications)
      .values(rows.map((row) => this.owned(row)))
      .returning();
  }

  notificationsOf(userId: string, unreadOnly: boolean, limit: number, cursor: Cursor | undefined) {
    const n = notifications;
    const at = cursor && new Date(cursor.sort);
    const before = cursor && at ? or(lt(n.createdAt, at), and(eq(n.createdAt, at), lt(n.id, cursor.id))) : undefined;
    return this.db
      .select()
      .from(n)
      .where(this.where(n, eq(n.userId, userId), unreadOnly ? isNull(n.readAt) : undefined, before))
      .orderBy(desc(n.createdAt), desc(n.id))
      .limit(limit + 1);
  }

  async unreadCount(userId: string): Promise<number> {
    const n = notifications;
    const [row] = await this.db
      .select({ count: sql<number>`count(*)::int` })
      .from(n)
      .where(this.where(n, eq(n.userId, userId), isNull(n.readAt)));
    return row!.count;
  }

  /** Marks the user's notifications read (the ids given, or all); returns how many changed. */
  async markRead(userId: string, ids: string[] | null, at: Date): Promise<number> {
    const n = notifications;
    const changed = await this.db
      .update(n)
      .set({ readAt: at, updatedAt: at })
      .where(this.where(n, eq(n.userId, userId), isNull(n.readAt), ids ? inArray(n.id, ids) : undefined))
      .returning({ id: n.id });
    return changed.length;
  }
}
