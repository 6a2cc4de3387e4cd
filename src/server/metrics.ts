import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccessControl } from '../auth/access-control.js';
import { AuthenticationError } from '../auth/access-control.js';
import type { GarbageCollector } from '../gc/collector.js';
import type { JobQueue } from '../jobs/queue.js';
import { basicCredentials, requestContext } from './auth-http.js';

export interface MetricsOptions {
  collector: GarbageCollector;
  jobs: JobQueue;
  /** With IAM auth: the caller needs wharf:GetMetrics on "*" (Basic credentials: access key or password). */
  access?: AccessControl;
}

/** The IAM action /metrics is checked against. */
export const METRICS_ACTION = 'wharf:GetMetrics';

/**
 * GET /metrics in Prometheus' text format. The values come from the metadata database, so
 * every node reports the same cluster-wide numbers, whichever one collected.
 */
export async function metricsRoutes(app: FastifyInstance, opts: MetricsOptions): Promise<void> {
  app.get('/metrics', async (req, reply) => {
    if (opts.access && !(await authorized(opts.access, req, reply))) return reply;
    const [totals, pending, depth] = await Promise.all([opts.collector.totals(), opts.collector.pendingDeletions(), opts.jobs.depth()]);
    const lines: string[] = [];
    const metric = (name: string, type: 'counter' | 'gauge', help: string, samples: [string, number][]) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
    };
    metric('wharf_gc_runs_total', 'counter', 'Garbage collections completed.', [['', totals.runs]]);
    metric('wharf_gc_reclaimed_bytes_total', 'counter', 'Bytes of blobs removed from storage by garbage collection.', [['', totals.bytesReclaimed]]);
    metric('wharf_gc_deleted_blobs_total', 'counter', 'Blobs removed from storage by garbage collection.', [['', totals.blobsDeleted]]);
    metric('wharf_gc_unlinked_total', 'counter', 'Repository links to unreferenced blobs removed by garbage collection.', [['', totals.unlinked]]);
    metric('wharf_gc_last_run_timestamp_seconds', 'gauge', 'When the last garbage collection finished.', [['', totals.lastRunAt ? Date.parse(totals.lastRunAt) / 1000 : 0]]);
    metric('wharf_gc_last_run_duration_seconds', 'gauge', 'How long the last garbage collection took.', [['', totals.lastDurationMs / 1000]]);
    metric('wharf_gc_pending_deletions', 'gauge', 'Blobs whose removal from storage has started and not finished.', [['', pending]]);
    metric(
      'wharf_jobs',
      'gauge',
      'Background jobs in the queue, by kind and status (pending includes running; dead failed for good).',
      depth.map((d) => [`{kind="${escapeLabel(d.kind)}",status="${escapeLabel(d.status)}"}`, d.count]),
    );
    return reply.type('text/plain; version=0.0.4; charset=utf-8').send(`${lines.join('\n')}\n`);
  });
}

async function authorized(access: AccessControl, req: FastifyRequest, reply: FastifyReply): Promise<boolean> {
  const ctx = requestContext(req);
  const credentials = basicCredentials(req.headers.authorization);
  if (!credentials) {
    void reply.code(401).header('www-authenticate', 'Basic realm="wharf"').send('authentication required\n');
    return false;
  }
  try {
    const principal = await access.authenticateBasic(credentials.username, credentials.password, ctx.sourceIp);
    const decision = await access.decide(principal, METRICS_ACTION, null, ctx);
    if (decision.allowed) return true;
    void reply.code(403).send(`not authorized to perform ${METRICS_ACTION}\n`);
    return false;
  } catch (err) {
    if (!(err instanceof AuthenticationError)) throw err;
    void reply.code(401).header('www-authenticate', 'Basic realm="wharf"').send('authentication failed\n');
    return false;
  }
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
