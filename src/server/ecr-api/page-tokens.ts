import { createHmac, timingSafeEqual } from 'node:crypto';
import { RegistryError } from '../../registry/errors.js';

/**
 * ECR's `nextToken`: opaque to clients, stable (a page key, not an offset, so pushes between
 * pages neither repeat nor skip entries) and unforgeable: the position and the request it
 * belongs to (operation, repository, filter) are signed with a key kept in the database, so
 * every node accepts every other's tokens and a token altered, or replayed on another
 * request, is refused with InvalidParameterException.
 */
export class PageTokens {
  constructor(private readonly key: Buffer) {}

  encode(scope: string, position: unknown): string {
    const body = Buffer.from(JSON.stringify({ s: scope, p: position })).toString('base64url');
    return `${body}.${this.sign(body)}`;
  }

  /** The position a token carries, after checking it was issued for this scope. */
  decode(scope: string, token: string): unknown {
    const dot = token.indexOf('.');
    const body = dot < 0 ? '' : token.slice(0, dot);
    const sig = dot < 0 ? '' : token.slice(dot + 1);
    const expected = this.sign(body);
    const valid = body !== '' && sig.length === expected.length && timingSafeEqual(Buffer.from(sig), Buffer.from(expected));
    let parsed: { s?: unknown; p?: unknown } | undefined;
    if (valid) {
      try {
        parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as { s?: unknown; p?: unknown };
      } catch {
        parsed = undefined;
      }
    }
    if (!parsed || parsed.s !== scope) throw new RegistryError('PARAMETER_INVALID', "Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid NextToken'");
    return parsed.p;
  }

  private sign(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }
}
