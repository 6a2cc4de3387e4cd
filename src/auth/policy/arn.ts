import { splitSegments } from './wildcard.js';

export interface Arn {
  partition: string;
  service: string;
  region: string;
  account: string;
  /** Everything after the fifth colon, e.g. `repository/team/app`. */
  resource: string;
}

/** The six parts of an ARN, or null when the text is not one. */
export function parseArn(text: string): Arn | null {
  const parts = splitSegments(text, 6);
  if (parts.length !== 6 || parts[0] !== 'arn') return null;
  const [, partition, service, region, account, resource] = parts as [string, string, string, string, string, string];
  if (!partition || !service) return null;
  return { partition, service, region, account, resource };
}

/** `arn:aws:ecr:us-east-1:123456789012:repository/team/app`. */
export function ecrRepositoryArn(region: string, account: string, name: string, partition = 'aws'): string {
  return `arn:${partition}:ecr:${region}:${account}:repository/${name}`;
}
