/**
 * Load from autocannon, with each answer's exact latency kept: autocannon's own percentiles are
 * whole milliseconds, too coarse for a sub-millisecond baseline. A run that saw an error, a
 * timeout or a non-2xx answer throws: a target that fails under load must not look fast.
 */
import autocannon from 'autocannon';
import { percentile, round } from './stats.ts';

export interface LoadTarget {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface Sample { latencies: number[]; requests: number; seconds: number; errors: number; non2xx: number; timeouts: number }

export interface Measured {
  requestsPerSecond: number;
  latencyMs: { p50: number; p95: number; p99: number; mean: number };
  requests: number;
  /** Requests per second of each round, to show how steady the machine was. */
  rounds: number[];
}

export interface LoadOptions {
  seconds: number;
  connections: number;
  /** Offered rate over all connections (requests/s); unset: as fast as answers come. */
  overallRate?: number;
  /** Record errors instead of throwing (the load gate probes for the rate where they start). */
  tolerateErrors?: boolean;
}

export async function load(target: LoadTarget, options: LoadOptions): Promise<Sample> {
  const latencies: number[] = [];
  const instance = autocannon({
    url: target.url,
    method: 'POST',
    headers: target.headers,
    body: target.body,
    connections: options.connections,
    duration: options.seconds,
    timeout: 10,
    ...(options.overallRate ? { overallRate: options.overallRate } : {}),
  });
  instance.on('response', (_client, status, _bytes, ms) => {
    if (status >= 200 && status < 300) latencies.push(ms);
  });
  const r = await instance;
  const sample = { latencies, requests: r.requests.total, seconds: r.duration, errors: r.errors, non2xx: r.non2xx, timeouts: r.timeouts };
  if (!options.tolerateErrors && (r.errors > 0 || r.non2xx > 0 || r.requests.total === 0)) {
    throw new Error(`${target.url}: ${r.errors} errors (${r.timeouts} timeouts), ${r.non2xx} non-2xx answers out of ${r.requests.total} requests under load`);
  }
  return sample;
}

export function summarize(samples: Sample[]): Measured {
  const latencies = samples.flatMap((s) => s.latencies);
  const requests = samples.reduce((n, s) => n + s.requests, 0);
  const seconds = samples.reduce((n, s) => n + s.seconds, 0);
  return {
    requestsPerSecond: round(requests / seconds, 1),
    latencyMs: {
      p50: round(percentile(latencies, 50), 3),
      p95: round(percentile(latencies, 95), 3),
      p99: round(percentile(latencies, 99), 3),
      mean: round(latencies.reduce((a, b) => a + b, 0) / latencies.length, 3),
    },
    requests,
    rounds: samples.map((s) => round(s.requests / s.seconds, 1)),
  };
}

export const describeMeasured = (m: Measured) =>
  `${m.requestsPerSecond} req/s; latency mean ${m.latencyMs.mean} ms, p50 ${m.latencyMs.p50} ms, p99 ${m.latencyMs.p99} ms`;
