/**
 * Per-upstream resilience with cockatiel: a bulkhead caps concurrent calls (one slow vendor cannot
 * take every socket), retries with exponential backoff and jitter cover transient failures of
 * idempotent reads only, and a consecutive-failure circuit breaker stops hammering a vendor that
 * is down. The per-attempt timeout lives in the guarded fetch.
 */
import {
  BrokenCircuitError, BulkheadRejectedError, CircuitState, ConsecutiveBreaker, TaskCancelledError, ExponentialBackoff, circuitBreaker, handleWhen,
  retry, bulkhead, wrap,
} from 'cockatiel';
import type { IBackoff, IBackoffFactory, IRetryBackoffContext, FailureReason } from 'cockatiel';
import { CallCancelled, ToolCallError, UpstreamTimeout, UpstreamUnreachable, parseRetryAfter } from './errors.ts';

export interface ResilienceOptions {
  connector: string;
  retries: number;
  concurrency: number;
  breaker: { threshold: number; halfOpenAfterMs: number };
  /** A 429 is retried only when the vendor asks for at most this long a wait. */
  maxRetryAfterSeconds?: number;
  /** First backoff delay (ms). */
  initialDelayMs?: number;
}

export class CircuitOpen extends ToolCallError {}
export class TooManyCalls extends ToolCallError {}

type Outcome = { response: Response };

/** cockatiel's states are numbers; operators read words. */
const BREAKER_STATE: Record<CircuitState, string> = {
  [CircuitState.Closed]: 'closed', [CircuitState.Open]: 'open', [CircuitState.HalfOpen]: 'half-open', [CircuitState.Isolated]: 'isolated',
};

const RETRY_STATUS = new Set([500, 502, 503, 504]);
const isTransient = (e: Error) => e instanceof UpstreamTimeout || e instanceof UpstreamUnreachable;

export interface UpstreamPolicy {
  /** Runs one upstream call (all attempts) under the connector's policies. */
  run<T extends Outcome>(method: string, attempt: () => Promise<T>, signal: AbortSignal): Promise<T>;
  /** 'closed' | 'open' | 'half-open', for health and tests. */
  readonly state: string;
}

export function createUpstreamPolicy(options: ResilienceOptions): UpstreamPolicy {
  const maxRetryAfter = options.maxRetryAfterSeconds ?? 5;
  const retryable = (r: unknown) => {
    const status = (r as Outcome).response?.status;
    if (RETRY_STATUS.has(status)) return true;
    if (status !== 429) return false;
    const s = parseRetryAfter((r as Outcome).response.headers.get('retry-after'));
    return s !== undefined && s <= maxRetryAfter;
  };

  const breaker = circuitBreaker(
    handleWhen(isTransient).orWhenResult((r) => (r as Outcome).response?.status >= 500),
    { halfOpenAfter: options.breaker.halfOpenAfterMs, breaker: new ConsecutiveBreaker(options.breaker.threshold) },
  );
  let openedAt = 0;
  breaker.onBreak(() => {
    openedAt = Date.now();
  });
  const retries = retry(
    handleWhen((e) => isTransient(e) && !(e instanceof BrokenCircuitError)).orWhenResult(retryable),
    { maxAttempts: options.retries, backoff: new RetryAfterBackoff(new ExponentialBackoff({ initialDelay: options.initialDelayMs ?? 100, maxDelay: 2000 })) },
  );
  const reads = wrap(retries, breaker);
  const limiter = bulkhead(options.concurrency, options.concurrency * 4);

  return {
    get state() {
      return BREAKER_STATE[breaker.state];
    },
    async run<T extends Outcome>(method: string, attempt: () => Promise<T>, signal: AbortSignal): Promise<T> {
      const idempotent = method === 'GET' || method === 'HEAD';
      try {
        return await limiter.execute(() => (idempotent ? reads : breaker).execute(() => attempt(), signal), signal);
      } catch (err) {
        if (err instanceof BrokenCircuitError) {
          const left = Math.max(1, Math.ceil((openedAt + options.breaker.halfOpenAfterMs - Date.now()) / 1000));
          throw new CircuitOpen(`The ${options.connector} upstream is failing; circuit open, retry after ${left}s`);
        }
        if (err instanceof BulkheadRejectedError) {
          throw new TooManyCalls(`Too many calls to ${options.connector} are in flight; retry in a few seconds`);
        }
        // Cancelled while queued in the bulkhead or waiting out a backoff.
        if (err instanceof TaskCancelledError) throw new CallCancelled();
        throw err;
      }
    },
  };
}

/** Waits at least as long as a 429's Retry-After asks (already bounded by the retry filter). */
class RetryAfterBackoff implements IBackoffFactory<IRetryBackoffContext<unknown>> {
  constructor(private readonly inner: IBackoffFactory<unknown>) {}

  next(context: IRetryBackoffContext<unknown>): IBackoff<IRetryBackoffContext<unknown>> {
    const step = this.inner.next(context);
    const result = context.result as FailureReason<Outcome>;
    const header = 'value' in result ? result.value?.response?.headers.get('retry-after') : undefined;
    const wait = (parseRetryAfter(header) ?? 0) * 1000;
    return { duration: Math.max(step.duration, wait), next: (c) => new RetryAfterBackoff(step).next(c) };
  }
}
