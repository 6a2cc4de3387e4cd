// `wharf policy ...`, `wharf repo ...`, `wharf registry-policy ...`, `wharf audit`: policy
// documents (validated by the policy engine before anything is stored), repository access
// settings, and reading the audit trail.
import { Command, InvalidArgumentError } from 'commander';
import { PolicyValidationError, parsePolicy } from '../auth/policy/index.js';
import { awsStyleId } from '../auth/secrets.js';
import type { PrincipalKind } from '../metadata/schema.js';
import { validateRepositoryName } from '../registry/names.js';
import { adminCommand, withAdmin, type AdminContext, type AdminFlags } from './admin-context.js';
import { emit, fields, OperationError, outputOption, principalFlag, readDocument, runAction, table, UsageError, validateIamName } from './cli-util.js';

/**
 * Checks a document with the policy engine; a malformed one is a failed operation whose message
 * is the engine's (`MalformedPolicyDocument: Statement[0].Effect ...`). Returns the text as given.
 */
export function validatePolicyDocument(text: string, kind: 'identity' | 'resource'): string {
  try {
    parsePolicy(text, kind);
  } catch (err) {
    if (err instanceof PolicyValidationError) throw new OperationError(err.message);
    throw err;
  }
  return text;
}

function pretty(document: string): string {
  try {
    return JSON.stringify(JSON.parse(document), null, 2);
  } catch {
    return document;
  }
}

function parsedOrText(document: string): unknown {
  try {
    return JSON.parse(document) as unknown;
  } catch {
    return document;
  }
}

interface Attachment {
  kind: PrincipalKind;
  name: string;
}

/** Who a managed policy is attached to. */
async function attachmentsOf(ctx: AdminContext, policyId: string): Promise<Attachment[]> {
  const db = ctx.metadata.connection.db;
  const users = await db
    .selectFrom('policy_attachments as a')
    .innerJoin('users as u', 'u.id', 'a.principal_id')
    .select('u.name')
    .where('a.policy_id', '=', policyId)
    .where('a.principal_kind', '=', 'user')
    .orderBy('u.name')
    .execute();
  const groups = await db
    .selectFrom('policy_attachments as a')
    .innerJoin('groups as g', 'g.id', 'a.principal_id')
    .select('g.name')
    .where('a.policy_id', '=', policyId)
    .where('a.principal_kind', '=', 'group')
    .orderBy('g.name')
    .execute();
  return [...users.map((u) => ({ kind: 'user' as const, name: u.name })), ...groups.map((g) => ({ kind: 'group' as const, name: g.name }))];
}

async function principalId(ctx: AdminContext, p: { kind: PrincipalKind; name: string }): Promise<string> {
  const row = p.kind === 'user' ? await ctx.identity.getUserByName(p.name) : await ctx.identity.getGroupByName(p.name);
  if (!row) throw new OperationError(`${p.kind} ${p.name} does not exist`);
  return row.id;
}

async function requirePolicy(ctx: AdminContext, name: string) {
  const policy = await ctx.identity.getManagedPolicy(name);
  if (!policy) throw new OperationError(`policy ${name} does not exist`);
  return policy;
}

const cap = (kind: PrincipalKind) => (kind === 'user' ? 'User' : 'Group');

// ---------------------------------------------------------------------------------------------
// managed and inline identity policies

export function policyCommand(): Command {
  const policy = new Command('policy').description('IAM identity policies: managed (attachable) and inline');

  policy.addCommand(
    adminCommand('create', 'Create a managed policy from a JSON document')
      .argument('<name>', 'policy name (1-64 of letters, digits, + = , . @ _ -)')
      .option('--document <file>', 'the policy document (JSON), or - for stdin')
      .action((name: string, opts: AdminFlags & { document?: string }) =>
        runAction(async () => {
          validateIamName('policy', name);
          const document = await readDocument(opts.document);
          await withAdmin(opts, async (ctx) => {
            const id = awsStyleId('ANPA');
            await ctx.change('CreatePolicy', name, { document: parsedOrText(document) }, async () => {
              validatePolicyDocument(document, 'identity');
              if (await ctx.identity.getManagedPolicy(name)) throw new OperationError(`policy ${name} already exists (change it with: wharf policy update ${name})`);
              await ctx.identity.putManagedPolicy(id, name, document);
            });
            const out = { name, id, arn: ctx.policyArn(name) };
            emit(opts.output, out, () => fields([['policy', name], ['id', id], ['arn', out.arn]]));
          });
        }),
      ),
  );

  policy.addCommand(
    adminCommand('update', "Replace a managed policy's document (every user and group it is attached to is affected)")
      .argument('<name>', 'policy name')
      .option('--document <file>', 'the policy document (JSON), or - for stdin')
      .action((name: string, opts: AdminFlags & { document?: string }) =>
        runAction(async () => {
          validateIamName('policy', name);
          const document = await readDocument(opts.document);
          await withAdmin(opts, async (ctx) => {
            await ctx.change('UpdatePolicy', name, { document: parsedOrText(document) }, async () => {
              validatePolicyDocument(document, 'identity');
              const existing = await requirePolicy(ctx, name);
              await ctx.identity.putManagedPolicy(existing.id, name, document);
            });
            emit(opts.output, { updated: name }, () => `updated policy ${name}`);
          });
        }),
      ),
  );

  policy.addCommand(
    adminCommand('delete', 'Delete a managed policy (refused while attached, unless --force detaches it everywhere)')
      .argument('<name>', 'policy name')
      .option('--force', 'detach it from every user and group first')
      .action((name: string, opts: AdminFlags & { force?: boolean }) =>
        runAction(async () => {
          validateIamName('policy', name);
          await withAdmin(opts, async (ctx) => {
            let detached: Attachment[] = [];
            await ctx.change('DeletePolicy', name, { force: opts.force === true }, async () => {
              const p = await requirePolicy(ctx, name);
              detached = await attachmentsOf(ctx, p.id);
              if (detached.length > 0 && !opts.force) {
                throw new OperationError(`policy ${name} is attached to ${detached.map((a) => `${a.kind} ${a.name}`).join(', ')}: detach it first, or pass --force`);
              }
              // Attachments go with the policy (foreign key ON DELETE CASCADE).
              await ctx.identity.deleteManagedPolicy(name);
            });
            emit(opts.output, { deleted: name, detachedFrom: detached }, () =>
              `deleted policy ${name}${detached.length > 0 ? ` (detached from ${detached.map((a) => `${a.kind} ${a.name}`).join(', ')})` : ''}`,
            );
          });
        }),
      ),
  );

  policy.addCommand(
    adminCommand('list', 'List managed policies').action((opts: AdminFlags) =>
      runAction(() =>
        withAdmin(opts, async (ctx) => {
          const out = await Promise.all(
            (await ctx.identity.listManagedPolicies()).map(async (p) => ({
              name: p.name,
              id: p.id,
              arn: ctx.policyArn(p.name),
              createdAt: p.created_at,
              updatedAt: p.updated_at,
              attachedTo: await attachmentsOf(ctx, p.id),
            })),
          );
          emit(opts.output, out, () =>
            table(
              ['NAME', 'ID', 'UPDATED', 'ATTACHED TO'],
              out.map((p) => [p.name, p.id, p.updatedAt, p.attachedTo.map((a) => `${a.kind}/${a.name}`).join(',')]),
            ),
          );
        }),
      ),
    ),
  );

  policy.addCommand(
    adminCommand('show', 'Show a managed policy: its document and where it is attached')
      .argument('<name>', 'policy name')
      .action((name: string, opts: AdminFlags) =>
        runAction(() =>
          withAdmin(opts, async (ctx) => {
            const p = await requirePolicy(ctx, validateIamName('policy', name));
            const attachedTo = await attachmentsOf(ctx, p.id);
            const out = { name: p.name, id: p.id, arn: ctx.policyArn(p.name), createdAt: p.created_at, updatedAt: p.updated_at, attachedTo, document: parsedOrText(p.document) };
            emit(opts.output, out, () =>
              [
                fields([
                  ['policy', out.name],
                  ['id', out.id],
                  ['arn', out.arn],
                  ['created', out.createdAt],
                  ['updated', out.updatedAt],
                  ['attached to', attachedTo.map((a) => `${a.kind} ${a.name}`).join(', ')],
                ]),
                'document:',
                pretty(p.document),
              ].join('\n'),
            );
          }),
        ),
      ),
  );

  for (const [verb, description] of [
    ['attach', 'Attach a managed policy to a user or a group'],
    ['detach', 'Detach a managed policy from a user or a group'],
  ] as const) {
    policy.addCommand(
      adminCommand(verb, description)
        .argument('<name>', 'policy name')
        .option('--user <user>', 'the user')
        .option('--group <group>', 'the group')
        .action((name: string, opts: AdminFlags & { user?: string; group?: string }) =>
          runAction(async () => {
            validateIamName('policy', name);
            const target = principalFlag(opts);
            await withAdmin(opts, async (ctx) => {
              const action = `${verb === 'attach' ? 'Attach' : 'Detach'}${cap(target.kind)}Policy`;
              await ctx.change(action, `${target.kind}/${target.name}`, { policy: name }, async () => {
                const p = await requirePolicy(ctx, name);
                const id = await principalId(ctx, target);
                if (verb === 'attach') await ctx.identity.attachPolicy(p.id, target.kind, id);
                else if (!(await ctx.identity.detachPolicy(p.id, target.kind, id))) throw new OperationError(`policy ${name} is not attached to ${target.kind} ${target.name}`);
              });
              emit(opts.output, { policy: name, [target.kind]: target.name, [verb === 'attach' ? 'attached' : 'detached']: true }, () =>
                `${verb === 'attach' ? 'attached' : 'detached'} policy ${name} ${verb === 'attach' ? 'to' : 'from'} ${target.kind} ${target.name}`,
              );
            });
          }),
        ),
    );
  }

  policy.addCommand(
    adminCommand('put-inline', "Create or replace an inline policy, part of one user's or group's own definition")
      .option('--user <user>', 'the user')
      .option('--group <group>', 'the group')
      .option('--name <name>', 'the inline policy name')
      .option('--document <file>', 'the policy document (JSON), or - for stdin')
      .action((opts: AdminFlags & { user?: string; group?: string; name?: string; document?: string }) =>
        runAction(async () => {
          const target = principalFlag(opts);
          const name = validateIamName('policy', requiredName(opts.name));
          const document = await readDocument(opts.document);
          await withAdmin(opts, async (ctx) => {
            await ctx.change(`Put${cap(target.kind)}Policy`, `${target.kind}/${target.name}`, { policy: name, document: parsedOrText(document) }, async () => {
              validatePolicyDocument(document, 'identity');
              await ctx.identity.putInlinePolicy(target.kind, await principalId(ctx, target), name, document);
            });
            emit(opts.output, { [target.kind]: target.name, inlinePolicy: name }, () => `put inline policy ${name} on ${target.kind} ${target.name}`);
          });
        }),
      ),
  );

  policy.addCommand(
    adminCommand('get-inline', "Print one of a user's or group's inline policies")
      .option('--user <user>', 'the user')
      .option('--group <group>', 'the group')
      .option('--name <name>', 'the inline policy name')
      .action((opts: AdminFlags & { user?: string; group?: string; name?: string }) =>
        runAction(async () => {
          const target = principalFlag(opts);
          const name = validateIamName('policy', requiredName(opts.name));
          await withAdmin(opts, async (ctx) => {
            const found = (await ctx.identity.listInlinePolicies(target.kind, await principalId(ctx, target))).find((p) => p.name === name);
            if (!found) throw new OperationError(`${target.kind} ${target.name} has no inline policy ${name}`);
            emit(opts.output, { [target.kind]: target.name, name, document: parsedOrText(found.document) }, () => pretty(found.document));
          });
        }),
      ),
  );

  policy.addCommand(
    adminCommand('delete-inline', "Delete one of a user's or group's inline policies")
      .option('--user <user>', 'the user')
      .option('--group <group>', 'the group')
      .option('--name <name>', 'the inline policy name')
      .action((opts: AdminFlags & { user?: string; group?: string; name?: string }) =>
        runAction(async () => {
          const target = principalFlag(opts);
          const name = validateIamName('policy', requiredName(opts.name));
          await withAdmin(opts, async (ctx) => {
            await ctx.change(`Delete${cap(target.kind)}Policy`, `${target.kind}/${target.name}`, { policy: name }, async () => {
              if (!(await ctx.identity.deleteInlinePolicy(target.kind, await principalId(ctx, target), name))) {
                throw new OperationError(`${target.kind} ${target.name} has no inline policy ${name}`);
              }
            });
            emit(opts.output, { [target.kind]: target.name, deleted: name }, () => `deleted inline policy ${name} from ${target.kind} ${target.name}`);
          });
        }),
      ),
  );

  return policy;
}

function requiredName(name: string | undefined): string {
  if (name === undefined) throw new UsageError('--name NAME is required');
  return name;
}

// ---------------------------------------------------------------------------------------------
// repositories and the registry

function repositoryName(name: string): string {
  try {
    return validateRepositoryName(name);
  } catch {
    throw new UsageError(`invalid repository name "${name.slice(0, 80)}": lowercase path components such as team/app`);
  }
}

/** The repository's access row; created first with --create, otherwise it must exist. */
async function requireRepository(ctx: AdminContext, name: string, create: boolean) {
  if (create) await ctx.metadata.ensureRepository(name, new Date().toISOString());
  const repo = await ctx.identity.repositoryAccess(name);
  if (!repo) throw new OperationError(`repository ${name} does not exist (push to it first, or pass --create)`);
  return repo;
}

export function repoCommand(): Command {
  const repo = new Command('repo').description("A repository's access settings: visibility and repository policy");

  repo.addCommand(
    adminCommand('visibility', 'Show, or set, whether anonymous callers may pull a repository (public) or not (private)')
      .argument('<name>', 'repository name, e.g. team/app')
      .argument('[visibility]', 'public or private; omitted: show the current setting')
      .option('--create', 'create the repository if it does not exist')
      .action((name: string, visibility: string | undefined, opts: AdminFlags & { create?: boolean }) =>
        runAction(async () => {
          repositoryName(name);
          if (visibility !== undefined && visibility !== 'public' && visibility !== 'private') throw new UsageError(`visibility must be public or private, not "${visibility}"`);
          await withAdmin(opts, async (ctx) => {
            if (visibility === undefined) {
              const r = await requireRepository(ctx, name, opts.create === true);
              emit(opts.output, { repository: name, visibility: r.visibility }, () => r.visibility);
              return;
            }
            await ctx.change('SetRepositoryVisibility', ctx.repositoryArn(name), { visibility }, async () => {
              await requireRepository(ctx, name, opts.create === true);
              await ctx.identity.setRepositoryVisibility(name, visibility);
            });
            emit(opts.output, { repository: name, visibility }, () => `repository ${name} is now ${visibility}`);
          });
        }),
      ),
  );

  const policy = new Command('policy').description("A repository's resource policy (ECR SetRepositoryPolicy)");
  policy.addCommand(
    adminCommand('set', 'Set the repository policy from a JSON document')
      .argument('<name>', 'repository name')
      .option('--document <file>', 'the policy document (JSON), or - for stdin')
      .option('--create', 'create the repository if it does not exist')
      .action((name: string, opts: AdminFlags & { document?: string; create?: boolean }) =>
        runAction(async () => {
          repositoryName(name);
          const document = await readDocument(opts.document);
          await withAdmin(opts, async (ctx) => {
            await ctx.change('SetRepositoryPolicy', ctx.repositoryArn(name), { document: parsedOrText(document) }, async () => {
              validatePolicyDocument(document, 'resource');
              await requireRepository(ctx, name, opts.create === true);
              await ctx.identity.setRepositoryPolicy(name, document);
            });
            emit(opts.output, { repository: name, policySet: true }, () => `set the policy of repository ${name}`);
          });
        }),
      ),
  );
  policy.addCommand(
    adminCommand('get', 'Print the repository policy')
      .argument('<name>', 'repository name')
      .action((name: string, opts: AdminFlags) =>
        runAction(async () => {
          repositoryName(name);
          await withAdmin(opts, async (ctx) => {
            const r = await requireRepository(ctx, name, false);
            if (!r.policy) throw new OperationError(`repository ${name} has no repository policy`);
            const document = r.policy;
            emit(opts.output, { repository: name, document: parsedOrText(document) }, () => pretty(document));
          });
        }),
      ),
  );
  policy.addCommand(
    adminCommand('delete', 'Delete the repository policy')
      .argument('<name>', 'repository name')
      .action((name: string, opts: AdminFlags) =>
        runAction(async () => {
          repositoryName(name);
          await withAdmin(opts, async (ctx) => {
            await ctx.change('DeleteRepositoryPolicy', ctx.repositoryArn(name), undefined, async () => {
              const r = await requireRepository(ctx, name, false);
              if (!r.policy) throw new OperationError(`repository ${name} has no repository policy`);
              await ctx.identity.setRepositoryPolicy(name, null);
            });
            emit(opts.output, { repository: name, policyDeleted: true }, () => `deleted the policy of repository ${name}`);
          });
        }),
      ),
  );
  repo.addCommand(policy);
  return repo;
}

export function registryPolicyCommand(): Command {
  const cmd = new Command('registry-policy').description('The registry policy: a resource policy over every repository (ECR PutRegistryPolicy)');
  cmd.addCommand(
    adminCommand('set', 'Set the registry policy from a JSON document')
      .option('--document <file>', 'the policy document (JSON), or - for stdin')
      .action((opts: AdminFlags & { document?: string }) =>
        runAction(async () => {
          const document = await readDocument(opts.document);
          await withAdmin(opts, async (ctx) => {
            await ctx.change('PutRegistryPolicy', 'registry', { document: parsedOrText(document) }, async () => {
              validatePolicyDocument(document, 'resource');
              await ctx.identity.setRegistryPolicy(document);
            });
            emit(opts.output, { registryPolicySet: true }, () => 'set the registry policy');
          });
        }),
      ),
  );
  cmd.addCommand(
    adminCommand('get', 'Print the registry policy').action((opts: AdminFlags) =>
      runAction(() =>
        withAdmin(opts, async (ctx) => {
          const document = await ctx.identity.getRegistryPolicy();
          if (document === null) throw new OperationError('no registry policy is set');
          emit(opts.output, { document: parsedOrText(document) }, () => pretty(document));
        }),
      ),
    ),
  );
  cmd.addCommand(
    adminCommand('delete', 'Delete the registry policy').action((opts: AdminFlags) =>
      runAction(() =>
        withAdmin(opts, async (ctx) => {
          await ctx.change('DeleteRegistryPolicy', 'registry', undefined, async () => {
            if ((await ctx.identity.getRegistryPolicy()) === null) throw new OperationError('no registry policy is set');
            await ctx.identity.setRegistryPolicy(null);
          });
          emit(opts.output, { registryPolicyDeleted: true }, () => 'deleted the registry policy');
        }),
      ),
    ),
  );
  return cmd;
}

// ---------------------------------------------------------------------------------------------
// audit

function positiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 10_000) throw new InvalidArgumentError('use a whole number from 1 to 10000');
  return Number(value);
}

export function auditCommand(): Command {
  return adminCommand('audit', 'Show the audit trail, newest first: sign-in failures, identity and policy changes')
    .option('--limit <n>', 'how many events (default 100)', positiveInt, 100)
    .action((opts: AdminFlags & { limit: number }) =>
      runAction(() =>
        withAdmin(opts, async (ctx) => {
          const out = (await ctx.identity.listAudit(opts.limit)).map((e) => ({
            id: Number(e.id),
            at: e.at,
            actor: e.actor,
            action: e.action,
            resource: e.resource,
            sourceIp: e.source_ip,
            outcome: e.outcome,
            detail: e.detail === null ? null : parsedOrText(e.detail),
          }));
          emit(opts.output, out, () =>
            table(
              ['ID', 'TIME', 'ACTOR', 'ACTION', 'RESOURCE', 'SOURCE', 'OUTCOME', 'DETAIL'],
              out.map((e) => [e.id, e.at, e.actor, e.action, e.resource, e.sourceIp, e.outcome, e.detail === null ? null : shorten(JSON.stringify(e.detail), 120)]),
            ),
          );
        }),
      ),
    );
}

function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
}
