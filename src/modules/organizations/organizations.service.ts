import { randomUUID } from 'node:crypto';
import type { Db } from '../../platform/db/database.js';
import { actingAs, type UnitOfWork } from '../../platform/db/unit-of-work.js';
import { AppError } from '../../platform/http/errors.js';
import { decodeCursor, type PageQuery, toPage } from '../../platform/http/pagination.js';
import type { RequestContext } from '../../platform/tenancy/context.js';
import type { CreatedInvitation, CreateInvitation } from '../invitations/invitations.schema.js';
import type { InvitationsService } from '../invitations/invitations.service.js';
import {
  type OrganizationRow,
  type OrganizationScope,
  OrganizationsRepository,
  UNSCOPED_PLATFORM_WIDE,
} from './organizations.repository.js';
import type { CreateOrganization, Organization, UpdateOrganization } from './organizations.schema.js';

const toOrganization = (row: OrganizationRow): Organization => row;

/** What the caller may see: every organization for a platform admin, otherwise their own. */
function visibleTo(ctx: RequestContext): OrganizationScope {
  return ctx.user.platformAdmin ? UNSCOPED_PLATFORM_WIDE : ctx.memberships.map((m) => m.organizationId);
}

/** Tenants. Platform admins see and create all; members see their own; org admins edit theirs. */
export class OrganizationsService {
  constructor(
    private readonly db: Db,
    private readonly uow: Pick<UnitOfWork, 'write'>,
    private readonly invitations: Pick<InvitationsService, 'invite'>,
  ) {}

  async list(ctx: RequestContext, page: PageQuery) {
    const rows = await new OrganizationsRepository(this.db, visibleTo(ctx)).list(page.limit, decodeCursor(page.cursor));
    return toPage(rows, page.limit, (row) => ({ sort: row.createdAt.toISOString(), id: row.id }), toOrganization);
  }

  /** The caller's organizations with their role in each. */
  async ofMemberships(ctx: RequestContext) {
    const ids = ctx.memberships.map((m) => m.organizationId);
    const rows = await new OrganizationsRepository(this.db, ids).list(ids.length, undefined);
    return rows.flatMap((row) => {
      const membership = ctx.memberships.find((m) => m.organizationId === row.id);
      return membership ? [{ id: row.id, name: row.name, slug: row.slug, role: membership.role }] : [];
    });
  }

  /** Another tenant's organization is NOT_FOUND: its existence is not revealed. */
  async get(ctx: RequestContext, id: string): Promise<Organization> {
    const row = await new OrganizationsRepository(this.db, visibleTo(ctx)).find(id);
    if (!row) throw new AppError('NOT_FOUND', 'organization not found');
    return toOrganization(row);
  }

  /** The route is for platform admins only. The organization, its first admin's invitation and their audit events commit together. */
  create(ctx: RequestContext, input: CreateOrganization) {
    const id = randomUUID();
    return this.uow.write(actingAs(ctx, id), async (work) => {
      const organization = await new OrganizationsRepository(work.db, UNSCOPED_PLATFORM_WIDE).create({
        id,
        name: input.name,
        slug: input.slug,
      });
      work.audit({ action: 'organizations.create', resourceType: 'organization', resourceId: id });
      const invitation = input.adminEmail
        ? await this.invitations.invite(work, { email: input.adminEmail, role: 'admin' })
        : null;
      return {
        ...toOrganization(organization),
        invitationId: invitation?.id ?? null,
        invitationToken: invitation?.token ?? null,
      };
    });
  }

  /**
   * A platform admin invites someone into an existing organization, e.g. a new admin for a tenant
   * that has lost its own. Organization members invite through /api/v1/invitations instead.
   */
  invite(ctx: RequestContext, id: string, input: CreateInvitation): Promise<CreatedInvitation> {
    return this.uow.write(actingAs(ctx, id), async (work) => {
      if (!(await new OrganizationsRepository(work.db, UNSCOPED_PLATFORM_WIDE).find(id)))
        throw new AppError('NOT_FOUND', 'organization not found');
      return this.invitations.invite(work, input);
    });
  }

  /** The route declares organization:update for this organization (or the caller is a platform admin). */
  update(ctx: RequestContext, id: string, patch: UpdateOrganization): Promise<Organization> {
    // Slugs are unique across tenants, so whether one is taken would tell an organization's admin
    // that another tenant uses it: only platform admins, who see every tenant anyway, change them.
    if (patch.slug !== undefined && !ctx.user.platformAdmin) {
      throw new AppError('FORBIDDEN', 'only a platform admin may change an organization slug');
    }
    return this.uow.write(actingAs(ctx, id), async (work) => {
      const row = await new OrganizationsRepository(work.db, visibleTo(ctx)).update(id, patch);
      if (!row) throw new AppError('NOT_FOUND', 'organization not found');
      work.audit({ action: 'organizations.update', resourceType: 'organization', resourceId: id });
      return toOrganization(row);
    });
  }
}
