import type { ByteRange } from '../../storage/blob-store.js';
import { RegistryError } from '../../registry/errors.js';

/**
 * A read Range header against a blob of `size` bytes. Only single ranges are served;
 * anything else (multi-range, other units, bad syntax) is ignored, as RFC 9110 allows,
 * and the whole blob is sent.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | null {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(size - suffix, 0), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < start) return null;
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

/**
 * An upload chunk's Content-Range: the spec's `<start>-<end>`, also accepting the
 * `bytes <start>-<end>[/<total>]` form some clients send.
 */
export function parseContentRange(header: string | undefined): ByteRange | undefined {
  if (header === undefined) return undefined;
  const m = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(header.trim());
  if (!m) throw new RegistryError('BLOB_UPLOAD_INVALID', 'Content-Range must be <start>-<end>');
  return { start: Number(m[1]), end: Number(m[2]) };
}
