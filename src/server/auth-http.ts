import type { FastifyRequest } from 'fastify';
import type { RequestContext } from '../auth/access-control.js';

/** `Authorization: Basic ...` decoded, or null. The password never leaves this call's result. */
export function basicCredentials(header: string | undefined): { username: string; password: string } | null {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return null;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export function bearerToken(header: string | undefined): string | null {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m ? m[1]! : null;
}

export function requestContext(req: FastifyRequest): RequestContext {
  return { sourceIp: req.ip, secureTransport: req.protocol === 'https' };
}

/** The absolute base URL clients reached us on: the configured public URL, else the request's own. */
export function externalBase(req: FastifyRequest, publicUrl: string | undefined): string {
  if (publicUrl) return publicUrl;
  return `${req.protocol}://${req.host}`;
}
