import type { Kysely } from 'kysely';
import type { Connection } from './connect.js';
import type { AccessKey, Database, PrincipalKind, User } from './schema.js';

export interface PolicyDocumentRow {
  /** Where it came from, for explanations: `user/alice/inline/ci`, `policy/ReadOnly`, ... */
  source: string;
  document: string;
}

export interface AuditEvent {
  actor: string | null;
  action: string;
  resource?: string | null;
  sourceIp?: string | null;
  outcome: 'success' | 'failure' | 'denied';
  detail?: unknown;
}

/** Users, groups, policies, access keys, repository access settings and the audit trail. */
export class IdentityStore {
  private readonly db: Kysely<Database>;

  constructor(private readonly connection: Connection) {
    this.db = connection.db;
  }

  private now(): string {
    return new Date().toISOString();
  }

  // ---- users and groups

  async countUsers(): Promise<number> {
    const row = await this.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async createUser(user: { id: string; name: string; passwordHash: string | null; tags?: Record<string, string> }): Promise<User> {
    const row = { id: user.id, name: user.name, password_hash: user.passwordHash, tags: user.tags ? JSON.stringify(user.tags) : null, created_at: this.now() };
    await this.db.insertInto('users').values(row).execute();
    return row;
  }

  async getUserByName(name: string): Promise<User | undefined> {
    return this.db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst();
  }

  async getUserById(id: string): Promise<User | undefined> {
    return this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async listUsers(): Promise<User[]> {
    return this.db.selectFrom('users').selectAll().orderBy('name').execute();
  }

  async setPasswordHash(userId: string, hash: string | null): Promise<void> {
    await this.db.updateTable('users').set({ password_hash: hash }).where('id', '=', userId).execute();
  }

  async deleteUser(userId: string): Promise<boolean> {
    return this.connection.writeTransaction(async (tx) => {
      await tx.deleteFrom('inline_policies').where('principal_kind', '=', 'user').where('principal_id', '=', userId).execute();
      await tx.deleteFrom('policy_attachments').where('principal_kind', '=', 'user').where('principal_id', '=', userId).execute();
      await tx.deleteFrom('access_keys').where('user_id', '=', userId).execute();
      await tx.deleteFrom('group_members').where('user_id', '=', userId).execute();
      const res = await tx.deleteFrom('users').where('id', '=', userId).executeTakeFirst();
      return Number(res.numDeletedRows) > 0;
    });
  }

  async createGroup(id: string, name: string): Promise<void> {
    await this.db.insertInto('groups').values({ id, name, created_at: this.now() }).execute();
  }

  async getGroupByName(name: string) {
    return this.db.selectFrom('groups').selectAll().where('name', '=', name).executeTakeFirst();
  }

  async listGroups() {
    return this.db.selectFrom('groups').selectAll().orderBy('name').execute();
  }

  async deleteGroup(groupId: string): Promise<boolean> {
    return this.connection.writeTransaction(async (tx) => {
      await tx.deleteFrom('inline_policies').where('principal_kind', '=', 'group').where('principal_id', '=', groupId).execute();
      await tx.deleteFrom('policy_attachments').where('principal_kind', '=', 'group').where('principal_id', '=', groupId).execute();
      await tx.deleteFrom('group_members').where('group_id', '=', groupId).execute();
      const res = await tx.deleteFrom('groups').where('id', '=', groupId).executeTakeFirst();
      return Number(res.numDeletedRows) > 0;
    });
  }

  async addGroupMember(groupId: string, userId: string): Promise<void> {
    await this.db
      .insertInto('group_members')
      .values({ group_id: groupId, user_id: userId })
      .onConflict((oc) => oc.columns(['group_id', 'user_id']).doNothing())
      .execute();
  }

  async removeGroupMember(groupId: string, userId: string): Promise<boolean> {
    const res = await this.db.deleteFrom('group_members').where('group_id', '=', groupId).where('user_id', '=', userId).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  async groupsOfUser(userId: string) {
    return this.db
      .selectFrom('group_members as gm')
      .innerJoin('groups as g', 'g.id', 'gm.group_id')
      .select(['g.id', 'g.name'])
      .where('gm.user_id', '=', userId)
      .orderBy('g.name')
      .execute();
  }

  // ---- policies

  async putManagedPolicy(id: string, name: string, document: string): Promise<void> {
    const now = this.now();
    await this.db
      .insertInto('policies')
      .values({ id, name, document, created_at: now, updated_at: now })
      .onConflict((oc) => oc.column('name').doUpdateSet({ document, updated_at: now }))
      .execute();
  }

  async getManagedPolicy(name: string) {
    return this.db.selectFrom('policies').selectAll().where('name', '=', name).executeTakeFirst();
  }

  async listManagedPolicies() {
    return this.db.selectFrom('policies').selectAll().orderBy('name').execute();
  }

  async deleteManagedPolicy(name: string): Promise<boolean> {
    const res = await this.db.deleteFrom('policies').where('name', '=', name).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  async attachPolicy(policyId: string, kind: PrincipalKind, principalId: string): Promise<void> {
    await this.db
      .insertInto('policy_attachments')
      .values({ policy_id: policyId, principal_kind: kind, principal_id: principalId })
      .onConflict((oc) => oc.columns(['policy_id', 'principal_kind', 'principal_id']).doNothing())
      .execute();
  }

  async detachPolicy(policyId: string, kind: PrincipalKind, principalId: string): Promise<boolean> {
    const res = await this.db
      .deleteFrom('policy_attachments')
      .where('policy_id', '=', policyId)
      .where('principal_kind', '=', kind)
      .where('principal_id', '=', principalId)
      .executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  async putInlinePolicy(kind: PrincipalKind, principalId: string, name: string, document: string): Promise<void> {
    const now = this.now();
    await this.db
      .insertInto('inline_policies')
      .values({ principal_kind: kind, principal_id: principalId, name, document, updated_at: now })
      .onConflict((oc) => oc.columns(['principal_kind', 'principal_id', 'name']).doUpdateSet({ document, updated_at: now }))
      .execute();
  }

  async deleteInlinePolicy(kind: PrincipalKind, principalId: string, name: string): Promise<boolean> {
    const res = await this.db
      .deleteFrom('inline_policies')
      .where('principal_kind', '=', kind)
      .where('principal_id', '=', principalId)
      .where('name', '=', name)
      .executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  async listInlinePolicies(kind: PrincipalKind, principalId: string) {
    return this.db
      .selectFrom('inline_policies')
      .select(['name', 'document'])
      .where('principal_kind', '=', kind)
      .where('principal_id', '=', principalId)
      .orderBy('name')
      .execute();
  }

  async listAttachedPolicies(kind: PrincipalKind, principalId: string) {
    return this.db
      .selectFrom('policy_attachments as a')
      .innerJoin('policies as p', 'p.id', 'a.policy_id')
      .select(['p.id', 'p.name', 'p.document'])
      .where('a.principal_kind', '=', kind)
      .where('a.principal_id', '=', principalId)
      .orderBy('p.name')
      .execute();
  }

  /** Every identity policy that applies to a user: its own and its groups', inline and attached. */
  async identityPolicies(userId: string): Promise<PolicyDocumentRow[]> {
    const groups = await this.groupsOfUser(userId);
    const principals: { kind: PrincipalKind; id: string; label: string }[] = [
      { kind: 'user', id: userId, label: `user/${userId}` },
      ...groups.map((g) => ({ kind: 'group' as const, id: g.id, label: `group/${g.name}` })),
    ];
    const out: PolicyDocumentRow[] = [];
    for (const p of principals) {
      for (const inline of await this.listInlinePolicies(p.kind, p.id)) out.push({ source: `${p.label}/inline/${inline.name}`, document: inline.document });
      for (const attached of await this.listAttachedPolicies(p.kind, p.id)) out.push({ source: `policy/${attached.name}`, document: attached.document });
    }
    return out;
  }

  // ---- access keys

  async createAccessKey(id: string, userId: string, secretEncrypted: string): Promise<void> {
    await this.db
      .insertInto('access_keys')
      .values({ id, user_id: userId, secret_encrypted: secretEncrypted, status: 'Active', created_at: this.now(), last_used_at: null })
      .execute();
  }

  async getAccessKey(id: string): Promise<AccessKey | undefined> {
    return this.db.selectFrom('access_keys').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async listAccessKeys(userId: string): Promise<Omit<AccessKey, 'secret_encrypted'>[]> {
    return this.db
      .selectFrom('access_keys')
      .select(['id', 'user_id', 'status', 'created_at', 'last_used_at'])
      .where('user_id', '=', userId)
      .orderBy('created_at')
      .execute();
  }

  async setAccessKeyStatus(id: string, status: 'Active' | 'Inactive'): Promise<boolean> {
    const res = await this.db.updateTable('access_keys').set({ status }).where('id', '=', id).executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async deleteAccessKey(id: string): Promise<boolean> {
    const res = await this.db.deleteFrom('access_keys').where('id', '=', id).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  async touchAccessKey(id: string, at: string): Promise<void> {
    await this.db.updateTable('access_keys').set({ last_used_at: at }).where('id', '=', id).execute();
  }

  // ---- repository access settings

  async repositoryAccess(name: string) {
    return this.db.selectFrom('repositories').select(['id', 'name', 'visibility', 'policy', 'resource_tags']).where('name', '=', name).executeTakeFirst();
  }

  async setRepositoryVisibility(name: string, visibility: 'private' | 'public'): Promise<boolean> {
    const res = await this.db.updateTable('repositories').set({ visibility }).where('name', '=', name).executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async setRepositoryPolicy(name: string, policy: string | null): Promise<boolean> {
    const res = await this.db.updateTable('repositories').set({ policy }).where('name', '=', name).executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async getRegistryPolicy(): Promise<string | null> {
    const row = await this.db.selectFrom('settings').select('value').where('key', '=', 'registry_policy').executeTakeFirst();
    return row?.value ?? null;
  }

  async setRegistryPolicy(policy: string | null): Promise<void> {
    if (policy === null) {
      await this.db.deleteFrom('settings').where('key', '=', 'registry_policy').execute();
      return;
    }
    await this.db
      .insertInto('settings')
      .values({ key: 'registry_policy', value: policy })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value: policy }))
      .execute();
  }

  // ---- audit

  async recordAudit(event: AuditEvent): Promise<void> {
    await this.db
      .insertInto('audit_events')
      .values({
        at: this.now(),
        actor: event.actor,
        action: event.action,
        resource: event.resource ?? null,
        source_ip: event.sourceIp ?? null,
        outcome: event.outcome,
        detail: event.detail === undefined ? null : JSON.stringify(event.detail),
      })
      .execute();
  }

  async listAudit(limit = 100) {
    return this.db.selectFrom('audit_events').selectAll().orderBy('id', 'desc').limit(limit).execute();
  }
}
