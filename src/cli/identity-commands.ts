// `wharf user ...`, `wharf group ...`, `wharf key ...`: IAM users, groups and access keys,
// managed by opening the configured database directly.
import { Command } from 'commander';
import { awsStyleId, hashPassword, newPassword, newSecretAccessKey } from '../auth/secrets.js';
import type { User } from '../metadata/schema.js';
import { adminCommand, withAdmin, type AdminContext, type AdminFlags } from './admin-context.js';
import {
  collectTag,
  emit,
  fields,
  OperationError,
  outputOption,
  readSecretFromStdin,
  runAction,
  table,
  UsageError,
  validateAccessKeyId,
  validateIamName,
} from './cli-util.js';

/** IAM's limit, and ours. */
export const MAX_ACCESS_KEYS_PER_USER = 2;
const MIN_PASSWORD_LENGTH = 12;

async function requireUser(ctx: AdminContext, name: string): Promise<User> {
  const user = await ctx.identity.getUserByName(validateIamName('user', name));
  if (!user) throw new OperationError(`user ${name} does not exist`);
  return user;
}

async function requireGroup(ctx: AdminContext, name: string) {
  const group = await ctx.identity.getGroupByName(validateIamName('group', name));
  if (!group) throw new OperationError(`group ${name} does not exist`);
  return group;
}

/** `--password-stdin` or `--generate-password` (at most one): the password, and whether it was generated. */
async function passwordFrom(opts: { passwordStdin?: boolean; generatePassword?: boolean }, required: boolean): Promise<{ password: string; generated: boolean } | undefined> {
  if (opts.passwordStdin && opts.generatePassword) throw new UsageError('give either --password-stdin or --generate-password, not both');
  if (opts.generatePassword) return { password: newPassword(), generated: true };
  if (opts.passwordStdin) {
    const password = await readSecretFromStdin('password');
    if (password.length < MIN_PASSWORD_LENGTH) throw new UsageError(`the password must be at least ${MIN_PASSWORD_LENGTH} characters`);
    return { password, generated: false };
  }
  if (required) throw new UsageError('give --password-stdin or --generate-password');
  return undefined;
}

function tagsOf(user: User): Record<string, string> {
  return user.tags ? (JSON.parse(user.tags) as Record<string, string>) : {};
}

function formatTags(tags: Record<string, string>): string {
  return Object.entries(tags)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

// ---------------------------------------------------------------------------------------------
// users

export function userCommand(): Command {
  const user = new Command('user').description('IAM users: who may sign in (password) or hold access keys');

  user.addCommand(
    adminCommand('create', 'Create a user; with no password it can only use access keys')
      .argument('<name>', 'user name (1-64 of letters, digits, + = , . @ _ -)')
      .option('--password-stdin', 'read the password from stdin (at least 12 characters)')
      .option('--generate-password', 'generate a password and print it once')
      .option('--tag <key=value>', 'a tag (aws:PrincipalTag/<key> in policies); repeatable', collectTag)
      .action((name: string, opts: AdminFlags & { passwordStdin?: boolean; generatePassword?: boolean; tag?: Record<string, string> }) =>
        runAction(async () => {
          validateIamName('user', name);
          const pw = await passwordFrom(opts, false);
          await withAdmin(opts, async (ctx) => {
            const tags = opts.tag ?? {};
            const created = await ctx.change('CreateUser', name, { tags, password: pw ? (pw.generated ? 'generated' : 'set') : 'none' }, async () => {
              if (await ctx.identity.getUserByName(name)) throw new OperationError(`user ${name} already exists`);
              return ctx.identity.createUser({
                id: awsStyleId('AIDA'),
                name,
                passwordHash: pw ? await hashPassword(pw.password) : null,
                ...(Object.keys(tags).length > 0 ? { tags } : {}),
              });
            });
            const out = { name: created.name, id: created.id, arn: ctx.userArn(name), createdAt: created.created_at, tags, ...(pw?.generated ? { password: pw.password } : {}) };
            emit(opts.output, out, () =>
              [
                fields([
                  ['user', out.name],
                  ['id', out.id],
                  ['arn', out.arn],
                  ['tags', formatTags(tags)],
                  ...(pw?.generated ? ([['password', pw.password]] as [string, string][]) : []),
                ]),
                ...(pw?.generated ? ['(the generated password is shown only this once: store it now)'] : []),
              ].join('\n'),
            );
          });
        }),
      ),
  );

  user.addCommand(
    adminCommand('list', 'List users').action((opts: AdminFlags) =>
      runAction(() =>
        withAdmin(opts, async (ctx) => {
          const users = await ctx.identity.listUsers();
          const keyCounts = await accessKeyCounts(ctx);
          const out = users.map((u) => ({
            name: u.name,
            id: u.id,
            arn: ctx.userArn(u.name),
            createdAt: u.created_at,
            password: u.password_hash !== null,
            accessKeys: keyCounts.get(u.id) ?? 0,
            tags: tagsOf(u),
          }));
          emit(opts.output, out, () =>
            table(
              ['NAME', 'ID', 'CREATED', 'PASSWORD', 'KEYS', 'TAGS'],
              out.map((u) => [u.name, u.id, u.createdAt, u.password ? 'yes' : 'no', u.accessKeys, formatTags(u.tags)]),
            ),
          );
        }),
      ),
    ),
  );

  user.addCommand(
    adminCommand('show', 'Show a user: groups, policies and access keys (never secrets)')
      .argument('<name>', 'user name')
      .action((name: string, opts: AdminFlags) =>
        runAction(() =>
          withAdmin(opts, async (ctx) => {
            const u = await requireUser(ctx, name);
            const groups = await ctx.identity.groupsOfUser(u.id);
            const out = {
              name: u.name,
              id: u.id,
              arn: ctx.userArn(u.name),
              createdAt: u.created_at,
              password: u.password_hash !== null,
              tags: tagsOf(u),
              inlinePolicies: (await ctx.identity.listInlinePolicies('user', u.id)).map((p) => p.name),
              attachedPolicies: (await ctx.identity.listAttachedPolicies('user', u.id)).map((p) => p.name),
              groups: await Promise.all(
                groups.map(async (g) => ({
                  name: g.name,
                  inlinePolicies: (await ctx.identity.listInlinePolicies('group', g.id)).map((p) => p.name),
                  attachedPolicies: (await ctx.identity.listAttachedPolicies('group', g.id)).map((p) => p.name),
                })),
              ),
              accessKeys: (await ctx.identity.listAccessKeys(u.id)).map((k) => ({ id: k.id, status: k.status, createdAt: k.created_at, lastUsedAt: k.last_used_at })),
            };
            emit(opts.output, out, () =>
              [
                fields([
                  ['user', out.name],
                  ['id', out.id],
                  ['arn', out.arn],
                  ['created', out.createdAt],
                  ['password', out.password ? 'set' : 'none'],
                  ['tags', formatTags(out.tags)],
                  ['inline policies', out.inlinePolicies.join(', ')],
                  ['attached policies', out.attachedPolicies.join(', ')],
                  ['groups', out.groups.map((g) => g.name).join(', ')],
                ]),
                ...out.groups.map(
                  (g) => `  group ${g.name}: inline [${g.inlinePolicies.join(', ')}], attached [${g.attachedPolicies.join(', ')}]`,
                ),
                '',
                out.accessKeys.length === 0
                  ? 'access keys: none'
                  : table(
                      ['ACCESS KEY ID', 'STATUS', 'CREATED', 'LAST USED'],
                      out.accessKeys.map((k) => [k.id, k.status, k.createdAt, k.lastUsedAt ?? 'never']),
                    ),
              ].join('\n'),
            );
          }),
        ),
      ),
  );

  user.addCommand(
    adminCommand('delete', 'Delete a user with its access keys, inline policies, attachments and group memberships')
      .argument('<name>', 'user name')
      .action((name: string, opts: AdminFlags) =>
        runAction(async () => {
          validateIamName('user', name);
          await withAdmin(opts, async (ctx) => {
            await ctx.change('DeleteUser', name, undefined, async () => {
              const u = await requireUser(ctx, name);
              await ctx.identity.deleteUser(u.id);
            });
            emit(opts.output, { deleted: name }, () => `deleted user ${name}`);
          });
        }),
      ),
  );

  user.addCommand(
    adminCommand('set-password', "Set or replace a user's password")
      .argument('<name>', 'user name')
      .option('--password-stdin', 'read the password from stdin (at least 12 characters)')
      .option('--generate-password', 'generate a password and print it once')
      .action((name: string, opts: AdminFlags & { passwordStdin?: boolean; generatePassword?: boolean }) =>
        runAction(async () => {
          validateIamName('user', name);
          const pw = (await passwordFrom(opts, true))!;
          await withAdmin(opts, async (ctx) => {
            await ctx.change('UpdateLoginProfile', name, { password: pw.generated ? 'generated' : 'set' }, async () => {
              const u = await requireUser(ctx, name);
              await ctx.identity.setPasswordHash(u.id, await hashPassword(pw.password));
            });
            const out = { user: name, ...(pw.generated ? { password: pw.password } : {}) };
            emit(opts.output, out, () =>
              pw.generated
                ? `${fields([['user', name], ['password', pw.password]])}\n(the generated password is shown only this once: store it now)`
                : `password set for user ${name}`,
            );
          });
        }),
      ),
  );

  return user;
}

async function accessKeyCounts(ctx: AdminContext): Promise<Map<string, number>> {
  const rows = await ctx.metadata.connection.db
    .selectFrom('access_keys')
    .select(['user_id', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy('user_id')
    .execute();
  return new Map(rows.map((r) => [r.user_id, Number(r.n)]));
}

// ---------------------------------------------------------------------------------------------
// groups

async function groupMembers(ctx: AdminContext, groupId: string): Promise<string[]> {
  const rows = await ctx.metadata.connection.db
    .selectFrom('group_members as gm')
    .innerJoin('users as u', 'u.id', 'gm.user_id')
    .select('u.name')
    .where('gm.group_id', '=', groupId)
    .orderBy('u.name')
    .execute();
  return rows.map((r) => r.name);
}

export function groupCommand(): Command {
  const group = new Command('group').description('IAM groups: users in a group get its policies');

  group.addCommand(
    adminCommand('create', 'Create a group')
      .argument('<name>', 'group name (1-64 of letters, digits, + = , . @ _ -)')
      .action((name: string, opts: AdminFlags) =>
        runAction(async () => {
          validateIamName('group', name);
          await withAdmin(opts, async (ctx) => {
            const id = awsStyleId('AGPA');
            await ctx.change('CreateGroup', name, undefined, async () => {
              if (await ctx.identity.getGroupByName(name)) throw new OperationError(`group ${name} already exists`);
              await ctx.identity.createGroup(id, name);
            });
            const out = { name, id, arn: ctx.groupArn(name) };
            emit(opts.output, out, () => fields([['group', name], ['id', id], ['arn', out.arn]]));
          });
        }),
      ),
  );

  group.addCommand(
    adminCommand('delete', 'Delete a group (its members stay; they lose its policies)')
      .argument('<name>', 'group name')
      .action((name: string, opts: AdminFlags) =>
        runAction(async () => {
          validateIamName('group', name);
          await withAdmin(opts, async (ctx) => {
            await ctx.change('DeleteGroup', name, undefined, async () => {
              const g = await requireGroup(ctx, name);
              await ctx.identity.deleteGroup(g.id);
            });
            emit(opts.output, { deleted: name }, () => `deleted group ${name}`);
          });
        }),
      ),
  );

  group.addCommand(
    adminCommand('list', 'List groups').action((opts: AdminFlags) =>
      runAction(() =>
        withAdmin(opts, async (ctx) => {
          const out = await Promise.all(
            (await ctx.identity.listGroups()).map(async (g) => ({ name: g.name, id: g.id, arn: ctx.groupArn(g.name), createdAt: g.created_at, members: await groupMembers(ctx, g.id) })),
          );
          emit(opts.output, out, () => table(['NAME', 'ID', 'CREATED', 'MEMBERS'], out.map((g) => [g.name, g.id, g.createdAt, g.members.join(',')])));
        }),
      ),
    ),
  );

  group.addCommand(
    adminCommand('show', 'Show a group: members and policies')
      .argument('<name>', 'group name')
      .action((name: string, opts: AdminFlags) =>
        runAction(() =>
          withAdmin(opts, async (ctx) => {
            const g = await requireGroup(ctx, name);
            const out = {
              name: g.name,
              id: g.id,
              arn: ctx.groupArn(g.name),
              createdAt: g.created_at,
              members: await groupMembers(ctx, g.id),
              inlinePolicies: (await ctx.identity.listInlinePolicies('group', g.id)).map((p) => p.name),
              attachedPolicies: (await ctx.identity.listAttachedPolicies('group', g.id)).map((p) => p.name),
            };
            emit(opts.output, out, () =>
              fields([
                ['group', out.name],
                ['id', out.id],
                ['arn', out.arn],
                ['created', out.createdAt],
                ['members', out.members.join(', ')],
                ['inline policies', out.inlinePolicies.join(', ')],
                ['attached policies', out.attachedPolicies.join(', ')],
              ]),
            );
          }),
        ),
      ),
  );

  group.addCommand(
    adminCommand('add-user', 'Add a user to a group')
      .argument('<group>', 'group name')
      .argument('<user>', 'user name')
      .action((groupName: string, userName: string, opts: AdminFlags) =>
        runAction(async () => {
          validateIamName('group', groupName);
          validateIamName('user', userName);
          await withAdmin(opts, async (ctx) => {
            await ctx.change('AddUserToGroup', groupName, { user: userName }, async () => {
              const g = await requireGroup(ctx, groupName);
              const u = await requireUser(ctx, userName);
              await ctx.identity.addGroupMember(g.id, u.id);
            });
            emit(opts.output, { group: groupName, added: userName }, () => `added user ${userName} to group ${groupName}`);
          });
        }),
      ),
  );

  group.addCommand(
    adminCommand('remove-user', 'Remove a user from a group')
      .argument('<group>', 'group name')
      .argument('<user>', 'user name')
      .action((groupName: string, userName: string, opts: AdminFlags) =>
        runAction(async () => {
          validateIamName('group', groupName);
          validateIamName('user', userName);
          await withAdmin(opts, async (ctx) => {
            await ctx.change('RemoveUserFromGroup', groupName, { user: userName }, async () => {
              const g = await requireGroup(ctx, groupName);
              const u = await requireUser(ctx, userName);
              if (!(await ctx.identity.removeGroupMember(g.id, u.id))) throw new OperationError(`user ${userName} is not in group ${groupName}`);
            });
            emit(opts.output, { group: groupName, removed: userName }, () => `removed user ${userName} from group ${groupName}`);
          });
        }),
      ),
  );

  return group;
}

// ---------------------------------------------------------------------------------------------
// access keys

export function keyCommand(): Command {
  const key = new Command('key').description('Access keys: an id and a secret, up to two per user, usable as registry credentials');

  key.addCommand(
    adminCommand('create', 'Create an access key for a user and print its secret once')
      .argument('<user>', 'user name')
      .action((userName: string, opts: AdminFlags) =>
        runAction(async () => {
          validateIamName('user', userName);
          await withAdmin(opts, async (ctx) => {
            const id = awsStyleId('AKIA');
            const secret = newSecretAccessKey();
            await ctx.change('CreateAccessKey', userName, { accessKeyId: id }, async () => {
              const u = await requireUser(ctx, userName);
              const existing = await ctx.identity.listAccessKeys(u.id);
              if (existing.length >= MAX_ACCESS_KEYS_PER_USER) {
                throw new OperationError(
                  `user ${userName} already has ${existing.length} access keys, the limit: delete one first (${existing.map((k) => `${k.id} ${k.status}`).join(', ')})`,
                );
              }
              // Only the ciphertext is stored; the secret is shown below and never again.
              await ctx.identity.createAccessKey(id, u.id, ctx.master.encrypt(secret));
            });
            const out = { user: userName, accessKeyId: id, secretAccessKey: secret, status: 'Active' };
            emit(opts.output, out, () =>
              [
                fields([
                  ['user', userName],
                  ['access key id', id],
                  ['secret access key', secret],
                ]),
                '(the secret access key is shown only this once: store it now)',
              ].join('\n'),
            );
          });
        }),
      ),
  );

  key.addCommand(
    adminCommand('list', "List a user's access keys (never their secrets)")
      .argument('<user>', 'user name')
      .action((userName: string, opts: AdminFlags) =>
        runAction(() =>
          withAdmin(opts, async (ctx) => {
            const u = await requireUser(ctx, userName);
            const out = (await ctx.identity.listAccessKeys(u.id)).map((k) => ({ id: k.id, user: userName, status: k.status, createdAt: k.created_at, lastUsedAt: k.last_used_at }));
            emit(opts.output, out, () =>
              table(
                ['ACCESS KEY ID', 'STATUS', 'CREATED', 'LAST USED'],
                out.map((k) => [k.id, k.status, k.createdAt, k.lastUsedAt ?? 'never']),
              ),
            );
          }),
        ),
      ),
  );

  for (const [verb, status, description] of [
    ['deactivate', 'Inactive', 'Deactivate an access key: it stops working at once, and can be activated again'],
    ['activate', 'Active', 'Activate an inactive access key'],
  ] as const) {
    key.addCommand(
      adminCommand(verb, description)
        .argument('<access-key-id>', 'AKIA...')
        .action((keyId: string, opts: AdminFlags) =>
          runAction(async () => {
            validateAccessKeyId(keyId);
            await withAdmin(opts, async (ctx) => {
              const owner = await keyOwner(ctx, keyId);
              await ctx.change('UpdateAccessKey', owner ?? keyId, { accessKeyId: keyId, status }, async () => {
                if (owner === undefined || !(await ctx.identity.setAccessKeyStatus(keyId, status))) throw new OperationError(`access key ${keyId} does not exist`);
              });
              emit(opts.output, { accessKeyId: keyId, user: owner, status }, () => `access key ${keyId} (user ${owner}) is now ${status}`);
            });
          }),
        ),
    );
  }

  key.addCommand(
    adminCommand('delete', 'Delete an access key for good')
      .argument('<access-key-id>', 'AKIA...')
      .action((keyId: string, opts: AdminFlags) =>
        runAction(async () => {
          validateAccessKeyId(keyId);
          await withAdmin(opts, async (ctx) => {
            const owner = await keyOwner(ctx, keyId);
            await ctx.change('DeleteAccessKey', owner ?? keyId, { accessKeyId: keyId }, async () => {
              if (owner === undefined || !(await ctx.identity.deleteAccessKey(keyId))) throw new OperationError(`access key ${keyId} does not exist`);
            });
            emit(opts.output, { deleted: keyId, user: owner }, () => `deleted access key ${keyId} (user ${owner})`);
          });
        }),
      ),
  );

  return key;
}

/** The name of the user holding a key, or undefined when there is no such key. */
async function keyOwner(ctx: AdminContext, keyId: string): Promise<string | undefined> {
  const k = await ctx.identity.getAccessKey(keyId);
  if (!k) return undefined;
  return (await ctx.identity.getUserById(k.user_id))?.name ?? k.user_id;
}
