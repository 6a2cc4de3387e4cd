// `wharf repo create|list|delete` and `wharf image list|delete`: thin commands over the ECR API
// of a running registry, through the AWS SDK, with the AWS credential chain (AWS_ACCESS_KEY_ID /
// AWS_SECRET_ACCESS_KEY, or --profile). Failures print `wharf: <ECR error name>: <message>` and
// exit 1; bad arguments exit 2, as every `wharf` command does.
import { Command, Option } from 'commander';
import type { ECRClient, ImageDetail, ImageIdentifier, Repository } from '@aws-sdk/client-ecr';
import { collectTag, configureTree, emit, fields, OperationError, outputOption, runAction, table, UsageError, type OutputFormat } from './cli-util.js';

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:5000';

interface ApiFlags {
  endpoint?: string;
  profile?: string;
  region?: string;
  output: OutputFormat;
}

function apiCommand(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .option('--endpoint <url>', `the registry's URL (default ${DEFAULT_ENDPOINT}) [env WHARF_ENDPOINT]`)
    .option('--profile <name>', 'AWS profile holding the access key (default: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, then the default profile)')
    .option('--region <region>', 'region to sign requests for (any is accepted; default from the AWS configuration, else us-east-1)')
    .addOption(outputOption());
}

function endpointOf(flags: ApiFlags): string {
  const endpoint = (flags.endpoint ?? process.env.WHARF_ENDPOINT ?? DEFAULT_ENDPOINT).replace(/\/+$/, '');
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new UsageError(`--endpoint must be a URL such as ${DEFAULT_ENDPOINT}, not "${endpoint.slice(0, 100)}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--endpoint must be an http:// or https:// URL, not "${endpoint.slice(0, 100)}"`);
  return endpoint;
}

/** An ECR client for the flags; the SDK is loaded only by these commands. */
async function client(flags: ApiFlags): Promise<{ ecr: ECRClient; sdk: typeof import('@aws-sdk/client-ecr'); endpoint: string }> {
  const endpoint = endpointOf(flags);
  // A command-line tool: no instance-metadata probing (slow off EC2), no SDK notices on stderr.
  process.env.AWS_EC2_METADATA_DISABLED ??= 'true';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  if (flags.profile !== undefined) process.env.AWS_PROFILE = flags.profile;
  const sdk = await import('@aws-sdk/client-ecr');
  const region = flags.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  return { ecr: new sdk.ECRClient({ endpoint, region, maxAttempts: 2 }), sdk, endpoint };
}

/** Runs an SDK call, turning its failures into one line: the ECR error name and message. */
async function call<T>(endpoint: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const e = err as Error & { name: string; code?: string; $metadata?: unknown; $fault?: string };
    if (e.name === 'CredentialsProviderError' || /Could not load credentials/i.test(e.message)) {
      throw new OperationError('no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (a Wharf access key), or pass --profile');
    }
    if (e.$metadata !== undefined && e.$fault !== undefined) throw new OperationError(`${e.name}: ${e.message}`);
    const code = e.code ?? (e as { cause?: { code?: string } }).cause?.code;
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ECONNRESET' || code === 'ETIMEDOUT' || e.name === 'TimeoutError') {
      throw new OperationError(`cannot reach the registry at ${endpoint} (${code ?? e.name}): is it running? (--endpoint or WHARF_ENDPOINT)`);
    }
    throw new OperationError(`${e.name}: ${e.message}`);
  }
}

function date(d: Date | undefined): string | undefined {
  return d?.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function size(bytes: number | undefined): string | undefined {
  if (bytes === undefined) return undefined;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

function repositoryJson(r: Repository) {
  return {
    name: r.repositoryName,
    uri: r.repositoryUri,
    arn: r.repositoryArn,
    createdAt: date(r.createdAt),
    imageTagMutability: r.imageTagMutability,
    ...(r.imageTagMutabilityExclusionFilters ? { imageTagMutabilityExclusionFilters: r.imageTagMutabilityExclusionFilters.map((f) => f.filter) } : {}),
    scanOnPush: r.imageScanningConfiguration?.scanOnPush ?? false,
    encryption: r.encryptionConfiguration?.encryptionType,
    ...(r.encryptionConfiguration?.kmsKey ? { kmsKey: r.encryptionConfiguration.kmsKey } : {}),
  };
}

const MUTABILITY = ['MUTABLE', 'IMMUTABLE', 'IMMUTABLE_WITH_EXCLUSION', 'MUTABLE_WITH_EXCLUSION'];
const TAG_STATUS = ['TAGGED', 'UNTAGGED', 'ANY'];

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function repoCreate(): Command {
  return apiCommand('create', 'Create a repository (ECR CreateRepository)')
    .argument('<name>', 'repository name, e.g. team/app')
    .addOption(new Option('--image-tag-mutability <setting>', 'whether tags may be moved to another image').choices(MUTABILITY).default('MUTABLE'))
    .option('--exclusion-filter <wildcard>', 'a tag wildcard excepted from the setting (repeatable; with the *_WITH_EXCLUSION settings)', collect)
    .option('--scan-on-push', 'mark the repository for scanning on push')
    .addOption(new Option('--encryption <type>', 'encryption type recorded for the repository').choices(['AES256', 'KMS', 'KMS_DSSE']))
    .option('--kms-key <arn>', 'KMS key, with --encryption KMS or KMS_DSSE')
    .option('--tag <key=value>', 'a resource tag (repeatable)', collectTag)
    .action((name: string, flags: ApiFlags & { imageTagMutability: string; exclusionFilter?: string[]; scanOnPush?: boolean; encryption?: string; kmsKey?: string; tag?: Record<string, string> }) =>
      runAction(async () => {
        if (flags.kmsKey !== undefined && flags.encryption === undefined) throw new UsageError('--kms-key needs --encryption KMS or KMS_DSSE');
        const { ecr, sdk, endpoint } = await client(flags);
        const out = await call(endpoint, () =>
          ecr.send(
            new sdk.CreateRepositoryCommand({
              repositoryName: name,
              imageTagMutability: flags.imageTagMutability as never,
              ...(flags.exclusionFilter ? { imageTagMutabilityExclusionFilters: flags.exclusionFilter.map((filter) => ({ filterType: 'WILDCARD' as const, filter })) } : {}),
              ...(flags.scanOnPush ? { imageScanningConfiguration: { scanOnPush: true } } : {}),
              ...(flags.encryption ? { encryptionConfiguration: { encryptionType: flags.encryption as never, ...(flags.kmsKey ? { kmsKey: flags.kmsKey } : {}) } } : {}),
              ...(flags.tag ? { tags: Object.entries(flags.tag).map(([Key, Value]) => ({ Key, Value })) } : {}),
            }),
          ),
        );
        const r = repositoryJson(out.repository ?? {});
        emit(flags.output, r, () =>
          fields([
            ['repository', r.name],
            ['uri', r.uri],
            ['arn', r.arn],
            ['tag mutability', [r.imageTagMutability, ...(r.imageTagMutabilityExclusionFilters ?? [])].join(' ')],
            ['scan on push', r.scanOnPush ? 'yes' : 'no'],
            ['encryption', r.encryption],
          ]),
        );
      }),
    );
}

function repoList(): Command {
  return apiCommand('list', 'List the repositories you may describe (ECR DescribeRepositories)').action((flags: ApiFlags) =>
    runAction(async () => {
      const { ecr, sdk, endpoint } = await client(flags);
      const repos: Repository[] = [];
      let nextToken: string | undefined;
      do {
        const page = await call(endpoint, () => ecr.send(new sdk.DescribeRepositoriesCommand({ maxResults: 1000, ...(nextToken ? { nextToken } : {}) })));
        repos.push(...(page.repositories ?? []));
        nextToken = page.nextToken;
      } while (nextToken);
      const out = repos.map(repositoryJson);
      emit(flags.output, out, () =>
        table(
          ['NAME', 'URI', 'TAG MUTABILITY', 'SCAN ON PUSH', 'CREATED'],
          out.map((r) => [r.name, r.uri, r.imageTagMutability, r.scanOnPush ? 'yes' : 'no', r.createdAt]),
        ),
      );
    }),
  );
}

function repoDelete(): Command {
  return apiCommand('delete', 'Delete a repository (ECR DeleteRepository); refused while it holds images, unless --force')
    .argument('<name>', 'repository name')
    .option('--force', 'delete its images too')
    .action((name: string, flags: ApiFlags & { force?: boolean }) =>
      runAction(async () => {
        const { ecr, sdk, endpoint } = await client(flags);
        const out = await call(endpoint, () => ecr.send(new sdk.DeleteRepositoryCommand({ repositoryName: name, force: flags.force === true })));
        emit(flags.output, { deleted: repositoryJson(out.repository ?? {}) }, () => `deleted repository ${name}`);
      }),
    );
}

export function shortDigest(digest: string | undefined): string | undefined {
  return digest?.replace(/^(sha256:[0-9a-f]{12})[0-9a-f]+$/, '$1');
}

function imageList(): Command {
  return apiCommand('list', "List a repository's images with their tags, sizes and push and pull times (ECR DescribeImages)")
    .argument('<repository>', 'repository name')
    .addOption(new Option('--tag-status <status>', 'only tagged or untagged images').choices(TAG_STATUS).default('ANY'))
    .action((repository: string, flags: ApiFlags & { tagStatus: string }) =>
      runAction(async () => {
        const { ecr, sdk, endpoint } = await client(flags);
        const images: ImageDetail[] = [];
        let nextToken: string | undefined;
        do {
          const page = await call(endpoint, () =>
            ecr.send(new sdk.DescribeImagesCommand({ repositoryName: repository, filter: { tagStatus: flags.tagStatus as never }, maxResults: 1000, ...(nextToken ? { nextToken } : {}) })),
          );
          images.push(...(page.imageDetails ?? []));
          nextToken = page.nextToken;
        } while (nextToken);
        const out = images.map((d) => ({
          digest: d.imageDigest,
          tags: d.imageTags ?? [],
          sizeInBytes: d.imageSizeInBytes,
          mediaType: d.imageManifestMediaType,
          ...(d.artifactMediaType ? { artifactMediaType: d.artifactMediaType } : {}),
          pushedAt: date(d.imagePushedAt),
          ...(d.lastRecordedPullTime ? { lastPulledAt: date(d.lastRecordedPullTime) } : {}),
        }));
        emit(flags.output, out, () =>
          table(
            ['DIGEST', 'TAGS', 'SIZE', 'PUSHED', 'LAST PULLED'],
            out.map((d) => [shortDigest(d.digest), d.tags.join(','), size(d.sizeInBytes), d.pushedAt, d.lastPulledAt]),
          ),
        );
      }),
    );
}

/** `v1` is a tag, `sha256:...` a digest. */
function imageId(reference: string): ImageIdentifier {
  return reference.includes(':') ? { imageDigest: reference } : { imageTag: reference };
}

function imageDelete(): Command {
  return apiCommand('delete', 'Delete images by tag or digest (ECR BatchDeleteImage): a tag goes, and its image with its last tag; a digest deletes the image')
    .argument('<repository>', 'repository name')
    .argument('<reference...>', 'tags (v1) or digests (sha256:...)')
    .action((repository: string, references: string[], flags: ApiFlags) =>
      runAction(async () => {
        if (references.length > 100) throw new UsageError('at most 100 images per call');
        const { ecr, sdk, endpoint } = await client(flags);
        const out = await call(endpoint, () => ecr.send(new sdk.BatchDeleteImageCommand({ repositoryName: repository, imageIds: references.map(imageId) })));
        const deleted = (out.imageIds ?? []).map((i) => ({ digest: i.imageDigest, ...(i.imageTag ? { tag: i.imageTag } : {}) }));
        const failures = (out.failures ?? []).map((f) => ({ reference: f.imageId?.imageTag ?? f.imageId?.imageDigest, failureCode: f.failureCode, failureReason: f.failureReason }));
        emit(flags.output, { deleted, failures }, () =>
          deleted.length === 0 ? 'nothing deleted' : deleted.map((d) => `deleted ${d.tag ? `${repository}:${d.tag} (${shortDigest(d.digest)})` : `${repository}@${d.digest}`}`).join('\n'),
        );
        if (failures.length > 0) {
          throw new OperationError(failures.map((f) => `${f.reference}: ${f.failureCode}: ${f.failureReason}`).join('; '));
        }
      }),
    );
}

/**
 * Adds `create`, `list`, `delete` to the `repo` command (created when absent; the admin
 * commands' `repo` holds `visibility` and `policy`), and the `image` command.
 */
export function addEcrCommands(program: Command): void {
  let repo = program.commands.find((c) => c.name() === 'repo');
  if (!repo) {
    repo = new Command('repo').description('Repositories');
    program.addCommand(repo);
  }
  repo.description('Repositories: create, list and delete them (over the ECR API); their access settings (visibility, policy; in the database)');
  for (const sub of [repoCreate(), repoList(), repoDelete()]) repo.addCommand(configureTree(sub));
  const image = new Command('image').description("A repository's images over the ECR API: list, delete");
  image.addCommand(imageList());
  image.addCommand(imageDelete());
  program.addCommand(configureTree(image));
}

