import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { IdentityStore } from '../metadata/identity-store.js';
import type { MetadataStore } from '../metadata/store.js';
import type { Account } from './access-control.js';
import { awsStyleId, hashPassword, newAccountId, newPassword, newSecretAccessKey, type MasterKey } from './secrets.js';

export const ADMIN_USER = 'admin';
export const ADMINISTRATOR_ACCESS = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Sid: 'AdministratorAccess', Effect: 'Allow', Action: '*', Resource: '*' }],
});

/** The account id and region: configured, or generated once and kept in the database. */
export async function loadAccount(metadata: MetadataStore, config: Pick<Config, 'accountId' | 'region'>, log: Logger): Promise<Account> {
  const stored = await metadata.initSetting('account_id', config.accountId ?? newAccountId());
  if (config.accountId && stored !== config.accountId) {
    log.warn({ configured: config.accountId, stored }, 'WHARF_ACCOUNT_ID differs from the account id this database was created with; using the configured one');
    return { accountId: config.accountId, region: config.region };
  }
  return { accountId: stored, region: config.region };
}

/**
 * On the very first start, creates the administrator: user `admin` with full access, a
 * password and an access key, from configuration or generated, shown once on stderr.
 * Several nodes starting together agree on one of them doing it.
 */
export async function bootstrapAdmin(
  metadata: MetadataStore,
  identity: IdentityStore,
  master: MasterKey,
  config: Pick<Config, 'admin'>,
  print: (text: string) => void,
): Promise<boolean> {
  if ((await identity.countUsers()) > 0) return false;
  const me = randomUUID();
  if ((await metadata.initSetting('bootstrap_owner', me)) !== me) return false;

  const password = config.admin.password ?? newPassword();
  const accessKeyId = config.admin.accessKeyId ?? awsStyleId('AKIA');
  const secret = config.admin.secretAccessKey ?? newSecretAccessKey();
  const user = await identity.createUser({ id: awsStyleId('AIDA'), name: ADMIN_USER, passwordHash: await hashPassword(password) });
  await identity.putInlinePolicy('user', user.id, 'AdministratorAccess', ADMINISTRATOR_ACCESS);
  await identity.createAccessKey(accessKeyId, user.id, master.encrypt(secret));
  await identity.recordAudit({ actor: 'wharf', action: 'CreateUser', resource: ADMIN_USER, outcome: 'success', detail: { bootstrap: true } });

  const shown = (value: string, fromConfig: boolean, name: string) => (fromConfig ? `(from ${name})` : value);
  print(
    [
      '',
      'Wharf created its first administrator. Generated secrets are shown this once: store them now.',
      `  user:              ${ADMIN_USER}`,
      `  password:          ${shown(password, config.admin.password !== undefined, 'WHARF_ADMIN_PASSWORD')}`,
      `  access key id:     ${accessKeyId}`,
      `  secret access key: ${shown(secret, config.admin.secretAccessKey !== undefined, 'WHARF_ADMIN_SECRET_ACCESS_KEY')}`,
      '',
    ].join('\n'),
  );
  return true;
}
