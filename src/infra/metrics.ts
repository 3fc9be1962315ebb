import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * One registry per process (never prom-client's global one), so tests can build as many apps
 * as they like. Metrics are created lazily by name and shared by API and workers.
 */
export function createMetricsRegistry(options: { defaultMetrics: boolean }): Registry {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry });
  return registry;
}

function getOrCreate<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

export function httpRequestDuration(registry: Registry) {
  return getOrCreate(
    registry,
    'http_request_duration_seconds',
    () =>
      new Histogram({
        name: 'http_request_duration_seconds',
        help: 'HTTP request duration by method, route pattern and status',
        labelNames: ['method', 'route', 'status'] as const,
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
        registers: [registry],
      }),
  );
}

export function jobOutcomes(registry: Registry) {
  return getOrCreate(
    registry,
    'jobs_total',
    () =>
      new Counter({
        name: 'jobs_total',
        help: 'Finished job attempts by queue and outcome (completed, failed, retried)',
        labelNames: ['queue', 'outcome'] as const,
        registers: [registry],
      }),
  );
}

export function queueDepth(registry: Registry) {
  return getOrCreate(
    registry,
    'queue_jobs',
    () =>
      new Gauge({
        name: 'queue_jobs',
        help: 'Jobs per queue and state',
        labelNames: ['queue', 'state'] as const,
        registers: [registry],
      }),
  );
}

export function outboxBacklog(registry: Registry) {
  return getOrCreate(
    registry,
    'outbox_pending',
    () =>
      new Gauge({
        name: 'outbox_pending',
        help: 'Outbox rows not yet relayed to the queues',
        registers: [registry],
      }),
  );
}

export function editionDeliveries(registry: Registry) {
  return getOrCreate(
    registry,
    'edition_deliveries',
    () =>
      new Gauge({
        name: 'edition_deliveries',
        help: 'Deliveries per status of editions that are sending or paused',
        labelNames: ['edition_id', 'status'] as const,
        registers: [registry],
      }),
  );
}
