import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { SqlDialectName } from './connect.js';

/**
 * Migrations live in code (not files found at run time) so the compiled package
 * carries them. Each one is written once for both dialects; the few types that
 * differ come from `types(dialect)`.
 */
function types(dialect: SqlDialectName) {
  return {
    bytes: dialect === 'postgres' ? sql`bytea` : sql`blob`,
    // Names and tags list in byte order, as the distribution spec's pagination expects,
    // whatever collation the PostgreSQL database was created with.
    sortedText: dialect === 'postgres' ? sql`text collate "C"` : sql`text`,
  };
}

function idColumn(dialect: SqlDialectName) {
  return dialect === 'postgres' ? ('bigserial' as const) : ('integer' as const);
}

function migrations(dialect: SqlDialectName): Record<string, Migration> {
  const t = types(dialect);
  return {
    '0001_core': {
      // eslint-style note: Kysely<any> is what Kysely's own migration API takes; migrations must not depend on the current schema type.
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('repositories')
          .addColumn('id', idColumn(dialect), (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('name', t.sortedText, (c) => c.notNull().unique())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('blobs')
          .addColumn('digest', 'text', (c) => c.primaryKey())
          .addColumn('size', 'bigint', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('repository_blobs')
          .addColumn('repository_id', 'bigint', (c) => c.notNull().references('repositories.id').onDelete('cascade'))
          .addColumn('digest', 'text', (c) => c.notNull().references('blobs.digest'))
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('repository_blobs_pk', ['repository_id', 'digest'])
          .execute();
        await db.schema.createIndex('repository_blobs_digest').on('repository_blobs').column('digest').execute();

        await db.schema
          .createTable('manifests')
          .addColumn('id', idColumn(dialect), (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('repository_id', 'bigint', (c) => c.notNull().references('repositories.id').onDelete('cascade'))
          .addColumn('digest', 'text', (c) => c.notNull())
          .addColumn('media_type', 'text', (c) => c.notNull())
          .addColumn('artifact_type', 'text')
          .addColumn('config_media_type', 'text')
          .addColumn('subject_digest', 'text')
          .addColumn('annotations', 'text')
          .addColumn('payload', t.bytes, (c) => c.notNull())
          .addColumn('size', 'bigint', (c) => c.notNull())
          .addColumn('total_size', 'bigint', (c) => c.notNull())
          .addColumn('pushed_at', 'text', (c) => c.notNull())
          .addColumn('last_pulled_at', 'text')
          .addUniqueConstraint('manifests_repository_digest', ['repository_id', 'digest'])
          .execute();
        await db.schema
          .createIndex('manifests_subject')
          .on('manifests')
          .columns(['repository_id', 'subject_digest'])
          .execute();

        await db.schema
          .createTable('manifest_references')
          .addColumn('manifest_id', 'bigint', (c) => c.notNull().references('manifests.id').onDelete('cascade'))
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('digest', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('manifest_references_pk', ['manifest_id', 'kind', 'digest'])
          .execute();
        await db.schema.createIndex('manifest_references_digest').on('manifest_references').columns(['digest', 'kind']).execute();

        await db.schema
          .createTable('tags')
          .addColumn('repository_id', 'bigint', (c) => c.notNull().references('repositories.id').onDelete('cascade'))
          .addColumn('name', t.sortedText, (c) => c.notNull())
          .addColumn('manifest_id', 'bigint', (c) => c.notNull().references('manifests.id').onDelete('cascade'))
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('tags_pk', ['repository_id', 'name'])
          .execute();
        await db.schema.createIndex('tags_manifest').on('tags').column('manifest_id').execute();

        await db.schema
          .createTable('uploads')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('repository_id', 'bigint', (c) => c.notNull().references('repositories.id').onDelete('cascade'))
          .addColumn('size', 'bigint', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('uploads_updated').on('uploads').column('updated_at').execute();

        await db.schema
          .createTable('settings')
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('value', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '0002_jobs_and_upload_leases': {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see 0001
      async up(db: Kysely<any>) {
        // Which process is writing an upload, and until when: chunks of one upload may reach any node.
        await db.schema.alterTable('uploads').addColumn('locked_until', 'text').execute();

        await db.schema
          .createTable('jobs')
          .addColumn('id', idColumn(dialect), (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('kind', 'text', (c) => c.notNull())
          // At most one pending job per key: recurring work and de-duplicated requests.
          .addColumn('key', 'text', (c) => c.unique())
          .addColumn('payload', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('run_at', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull())
          .addColumn('max_attempts', 'integer', (c) => c.notNull())
          .addColumn('locked_by', 'text')
          .addColumn('locked_until', 'text')
          .addColumn('last_error', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('jobs_due').on('jobs').columns(['status', 'run_at']).execute();
      },
    },
    '0003_identity': {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see 0001
      async up(db: Kysely<any>) {
        await db.schema.alterTable('repositories').addColumn('visibility', 'text', (c) => c.notNull().defaultTo('private')).execute();
        await db.schema.alterTable('repositories').addColumn('policy', 'text').execute();
        await db.schema.alterTable('repositories').addColumn('resource_tags', 'text').execute();

        await db.schema
          .createTable('users')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', t.sortedText, (c) => c.notNull().unique())
          .addColumn('password_hash', 'text')
          .addColumn('tags', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('groups')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', t.sortedText, (c) => c.notNull().unique())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('group_members')
          .addColumn('group_id', 'text', (c) => c.notNull().references('groups.id').onDelete('cascade'))
          .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
          .addPrimaryKeyConstraint('group_members_pk', ['group_id', 'user_id'])
          .execute();
        await db.schema.createIndex('group_members_user').on('group_members').column('user_id').execute();
        // Managed policies (attachable) and inline policies (owned by one user or group).
        await db.schema
          .createTable('policies')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', t.sortedText, (c) => c.notNull().unique())
          .addColumn('document', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('policy_attachments')
          .addColumn('policy_id', 'text', (c) => c.notNull().references('policies.id').onDelete('cascade'))
          .addColumn('principal_kind', 'text', (c) => c.notNull())
          .addColumn('principal_id', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('policy_attachments_pk', ['policy_id', 'principal_kind', 'principal_id'])
          .execute();
        await db.schema.createIndex('policy_attachments_principal').on('policy_attachments').columns(['principal_kind', 'principal_id']).execute();
        await db.schema
          .createTable('inline_policies')
          .addColumn('principal_kind', 'text', (c) => c.notNull())
          .addColumn('principal_id', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('document', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('inline_policies_pk', ['principal_kind', 'principal_id', 'name'])
          .execute();
        await db.schema
          .createTable('access_keys')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
          // AES-256-GCM under the master key; never stored or logged in plain text.
          .addColumn('secret_encrypted', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('last_used_at', 'text')
          .execute();
        await db.schema.createIndex('access_keys_user').on('access_keys').column('user_id').execute();
        await db.schema
          .createTable('audit_events')
          .addColumn('id', idColumn(dialect), (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('at', 'text', (c) => c.notNull())
          .addColumn('actor', 'text')
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('resource', 'text')
          .addColumn('source_ip', 'text')
          .addColumn('outcome', 'text', (c) => c.notNull())
          .addColumn('detail', 'text')
          .execute();
        await db.schema.createIndex('audit_events_at').on('audit_events').column('at').execute();
      },
    },
    '0004_repository_settings': {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see 0001
      async up(db: Kysely<any>) {
        // ECR repository settings; repositories created by a push get ECR's defaults.
        await db.schema.alterTable('repositories').addColumn('tag_mutability', 'text', (c) => c.notNull().defaultTo('MUTABLE')).execute();
        await db.schema.alterTable('repositories').addColumn('tag_mutability_exclusions', 'text').execute();
        await db.schema.alterTable('repositories').addColumn('scan_on_push', 'integer', (c) => c.notNull().defaultTo(0)).execute();
        await db.schema.alterTable('repositories').addColumn('encryption_type', 'text', (c) => c.notNull().defaultTo('AES256')).execute();
        await db.schema.alterTable('repositories').addColumn('kms_key', 'text').execute();
        // DescribeImages and ListImages page through a repository's manifests in id order.
        await db.schema.createIndex('manifests_repository_id').on('manifests').columns(['repository_id', 'id']).execute();
      },
    },
    '0005_online_gc': {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see 0001
      async up(db: Kysely<any>) {
        // When a blob or a repository's link to it was last written or used: garbage collection
        // spares anything touched within its grace period (an upload whose manifest is on the way).
        await db.schema.alterTable('blobs').addColumn('touched_at', 'text').execute();
        await db.updateTable('blobs').set({ touched_at: sql`created_at` }).execute();
        await db.schema.createIndex('blobs_touched').on('blobs').column('touched_at').execute();
        await db.schema.alterTable('repository_blobs').addColumn('touched_at', 'text').execute();
        await db.updateTable('repository_blobs').set({ touched_at: sql`created_at` }).execute();
        // Blobs whose row is gone and whose bytes are being removed from storage: a publish of
        // the same digest waits for the removal before it writes the bytes again.
        await db.schema
          .createTable('blob_deletions')
          .addColumn('digest', 'text', (c) => c.primaryKey())
          .addColumn('size', 'bigint', (c) => c.notNull())
          .addColumn('started_at', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '0006_lifecycle': {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see 0001
      async up(db: Kysely<any>) {
        // ECR's lifecycle policy text, as put (GetLifecyclePolicy returns it unchanged).
        await db.schema.alterTable('repositories').addColumn('lifecycle_policy', 'text').execute();
        await db.schema.alterTable('repositories').addColumn('lifecycle_policy_updated_at', 'text').execute();
        // The latest lifecycle policy preview of each repository.
        await db.schema
          .createTable('lifecycle_previews')
          .addColumn('repository_id', 'bigint', (c) => c.primaryKey().references('repositories.id').onDelete('cascade'))
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('policy', 'text', (c) => c.notNull())
          .addColumn('results', 'text')
          .addColumn('failure', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '0007_upload_digest': {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see 0001
      async up(db: Kysely<any>) {
        // The digest of an upload's first `size` bytes, recorded with each acknowledged chunk by
        // the process that hashed them: a PUT on another process or node need not re-read it.
        await db.schema.alterTable('uploads').addColumn('digest', 'text').execute();
      },
    },
  };
}

class CodeMigrationProvider implements MigrationProvider {
  constructor(private readonly dialect: SqlDialectName) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations(this.dialect);
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the migrator works on any schema
export async function migrateToLatest(db: Kysely<any>, dialect: SqlDialectName, schema?: string): Promise<void> {
  // The bookkeeping tables must sit in the same schema as ours; otherwise the migrator
  // finds another schema's copies and never creates its own.
  const migrator = new Migrator({ db, provider: new CodeMigrationProvider(dialect), ...(schema ? { migrationTableSchema: schema } : {}) });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(`database migration failed${failed ? ` at ${failed.migrationName}` : ''}: ${String(error)}`);
  }
}
