import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  as,
  buildTestApp,
  createTenant,
  PASSWORD,
  signIn,
  type Tenant,
  type TestApp,
} from '../../../test/helpers/test-app.js';

let t: TestApp;
let a: Tenant;
let b: Tenant;

beforeAll(async () => {
  t = await buildTestApp();
  [a, b] = await Promise.all([createTenant(t.app), createTenant(t.app)]);
});
afterAll(() => t.close());

const postInvitation = (token: string, payload: Record<string, unknown>) =>
  as(t.app, token)({ method: 'POST', url: '/api/v1/invitations', payload });

const signUp = (payload: Record<string, unknown>) =>
  t.app.inject({ method: 'POST', url: '/api/auth/sign-up/email', payload });

describe('the invitation flow', () => {
  it('takes an invitee from invitation to signed-in member with the invited role', async () => {
    const invite = await postInvitation(a.users.admin.token, { email: 'New.Nurse@Example.test', role: 'nurse' });
    expect(invite.statusCode).toBe(201);
    const invitation = invite.json();
    expect(invitation).toMatchObject({ email: 'new.nurse@example.test', role: 'nurse', status: 'pending' });

    const created = await signUp({
      email: 'new.nurse@example.test',
      password: PASSWORD,
      name: 'New Nurse',
      invitationToken: invitation.token,
    });
    expect(created.statusCode).toBe(200);
    const token = created.json().token as string;

    const accept = await as(
      t.app,
      token,
    )({
      method: 'POST',
      url: '/api/auth/organization/accept-invitation',
      payload: { invitationId: invitation.id, invitationToken: invitation.token },
    });
    expect(accept.statusCode).toBe(200);

    const profile = await as(t.app, token)({ method: 'GET', url: '/api/v1/profile' });
    expect(profile.json().organizations).toEqual([expect.objectContaining({ id: a.organizationId, role: 'nurse' })]);
  });

  it('lets an existing user of another organization join a second one and choose it per request', async () => {
    const invite = await postInvitation(a.users.admin.token, { email: b.users.doctor.email, role: 'doctor' });
    const token = await signIn(t.app, b.users.doctor.email);
    const accept = await as(
      t.app,
      token,
    )({
      method: 'POST',
      url: '/api/auth/organization/accept-invitation',
      payload: { invitationId: invite.json().id, invitationToken: invite.json().token },
    });
    expect(accept.statusCode).toBe(200);
    const profile = await as(t.app, token)({ method: 'GET', url: '/api/v1/profile' });
    expect(profile.json().organizations).toHaveLength(2);
    const chosen = await as(t.app, token, { 'x-organization-id': a.organizationId })({
      method: 'GET',
      url: `/api/v1/organizations/${a.organizationId}`,
    });
    expect(chosen.statusCode).toBe(200);
  });

  it('refuses sign-up without a matching open invitation', async () => {
    const none = await signUp({ email: 'stranger@example.test', password: PASSWORD, name: 'Stranger' });
    expect(none.statusCode).toBe(403);
    expect(none.json().error.code).toBe('FORBIDDEN');
    const invite = await postInvitation(a.users.admin.token, { email: 'invited@example.test', role: 'operator' });
    const wrongEmail = await signUp({
      email: 'someone-else@example.test',
      password: PASSWORD,
      name: 'Someone',
      invitationToken: invite.json().token,
    });
    expect(wrongEmail.statusCode).toBe(403);
  });

  it('shows the sign-up token once: lists never carry it and the invitation id does not open sign-up', async () => {
    const invite = await postInvitation(a.users.admin.token, { email: 'second.admin@example.test', role: 'admin' });
    const { id, token } = invite.json();
    expect(token).toEqual(expect.any(String));
    const listed = await as(t.app, a.users.manager.token)({ method: 'GET', url: '/api/v1/invitations?limit=100' });
    expect(listed.body).toContain(id);
    expect(listed.body).not.toContain(token);
    const account = { email: 'second.admin@example.test', password: PASSWORD, name: 'Impostor' };
    expect((await signUp({ ...account, invitationToken: id })).statusCode).toBe(403);
    expect((await signUp({ ...account, invitationId: id })).statusCode).toBe(403);
  });

  it("does not let an account holding the invited address take up another tenant's invitation", async () => {
    // An admin of tenant B makes an account for an address by inviting it into B...
    const email = 'wanted.doctor@example.test';
    const squat = await postInvitation(b.users.admin.token, { email, role: 'operator' });
    const squatter = await signUp({ email, password: PASSWORD, name: 'Squatter', invitationToken: squat.json().token });
    expect(squatter.statusCode).toBe(200);
    const call = as(t.app, squatter.json().token as string);
    const joined = await call({
      method: 'POST',
      url: '/api/auth/organization/accept-invitation',
      payload: { invitationId: squat.json().id, invitationToken: squat.json().token },
    });
    expect(joined.statusCode).toBe(200);
    // ...then tenant A invites that address, and B's admin sees nothing of the token A was shown.
    const invite = await postInvitation(a.users.admin.token, { email, role: 'admin' });
    for (const payload of [
      { invitationId: invite.json().id },
      { invitationId: invite.json().id, invitationToken: squat.json().token },
      { invitationId: invite.json().id, invitationToken: 'x'.repeat(43) },
    ]) {
      for (const url of ['/api/auth/organization/accept-invitation', '/api/auth/organization/reject-invitation']) {
        const res = await call({ method: 'POST', url, payload });
        expect(res.statusCode, url).toBe(403);
        expect(res.json().error.details).toEqual([{ path: 'auth', message: 'INVITATION_REQUIRED' }]);
      }
    }
    const pending = await as(t.app, a.users.admin.token)({ method: 'GET', url: '/api/v1/invitations?limit=100' });
    expect(pending.json().data.map((i: { id: string }) => i.id)).toContain(invite.json().id);
    const profile = await call({ method: 'GET', url: '/api/v1/profile' });
    expect(profile.json().organizations.map((o: { id: string }) => o.id)).toEqual([b.organizationId]);
  });

  it('lets the invitee decline with the token, after which the token opens nothing', async () => {
    const invite = await postInvitation(a.users.admin.token, { email: b.users.nurse.email, role: 'nurse' });
    const { id, token } = invite.json();
    const call = as(t.app, await signIn(t.app, b.users.nurse.email));
    const reject = await call({
      method: 'POST',
      url: '/api/auth/organization/reject-invitation',
      payload: { invitationId: id, invitationToken: token },
    });
    expect(reject.statusCode).toBe(200);
    const accept = await call({
      method: 'POST',
      url: '/api/auth/organization/accept-invitation',
      payload: { invitationId: id, invitationToken: token },
    });
    expect(accept.statusCode).toBe(403);
  });

  it('cancels the older invitation when the same person is invited again', async () => {
    const call = as(t.app, a.users.admin.token);
    const first = await postInvitation(a.users.admin.token, { email: 'twice@example.test', role: 'nurse' });
    const second = await postInvitation(a.users.admin.token, { email: 'twice@example.test', role: 'doctor' });
    const pending = await call({ method: 'GET', url: '/api/v1/invitations?limit=100' });
    const ids = pending.json().data.map((i: { id: string }) => i.id);
    expect(ids).toContain(second.json().id);
    expect(ids).not.toContain(first.json().id);
  });
});

describe('POST /api/v1/invitations', () => {
  it('answers 409 for someone who is already a member', async () => {
    const res = await postInvitation(a.users.admin.token, { email: a.users.nurse.email, role: 'doctor' });
    expect(res.statusCode).toBe(409);
  });

  it('rejects a bad email and an unknown role with 400', async () => {
    const res = await postInvitation(a.users.admin.token, { email: 'not-an-email', role: 'janitor' });
    expect(res.statusCode).toBe(400);
    expect(
      res
        .json()
        .error.details.map((d: { path: string }) => d.path)
        .sort(),
    ).toEqual(['body.email', 'body.role']);
  });

  it('is forbidden to a manager', async () => {
    const res = await postInvitation(a.users.manager.token, { email: 'x@example.test', role: 'nurse' });
    expect(res.statusCode).toBe(403);
  });
});

describe('DELETE /api/v1/invitations/:id', () => {
  it('cancels a pending invitation, after which sign-up with it fails', async () => {
    const call = as(t.app, a.users.admin.token);
    const invitation = await postInvitation(a.users.admin.token, { email: 'later@example.test', role: 'nurse' });
    const res = await call({ method: 'DELETE', url: `/api/v1/invitations/${invitation.json().id}` });
    expect(res.statusCode).toBe(200);
    expect(res.json().status).toBe('canceled');
    const attempt = await signUp({
      email: 'later@example.test',
      password: PASSWORD,
      name: 'Later',
      invitationToken: invitation.json().token,
    });
    expect(attempt.statusCode).toBe(403);
  });

  it("answers 404 for another tenant's invitation", async () => {
    const invite = await postInvitation(b.users.admin.token, { email: 'bees@example.test', role: 'nurse' });
    const res = await as(
      t.app,
      a.users.admin.token,
    )({ method: 'DELETE', url: `/api/v1/invitations/${invite.json().id}` });
    expect(res.statusCode).toBe(404);
  });
});
