/**
 * Identifiers the runtime mints: request and call ids, decision ids, approval ids. Time-ordered
 * (UUID v7), so that rows keyed by them (usage.call_id) are appended to their index in order
 * instead of landing on random pages of it, which costs a growing table more pages per commit.
 */
import { randomUUID } from 'node:crypto';

let lastMs = -1;
let sequence = 0;

/**
 * RFC 9562 UUID v7: 48-bit milliseconds, a 12-bit counter (rand_a, the RFC's method 1), then
 * random bits. The counter keeps ids made in the same millisecond in the order they were made:
 * lists sorted by id (approvals made in one request) would otherwise shuffle them. Built on a v4
 * UUID, whose variant bits are v7's too: Node draws v4s from a pooled random buffer, where a
 * fresh randomBytes() per id cost several microseconds on every request.
 */
export function uuidv7(): string {
  const random = randomUUID();
  const ms = Date.now();
  if (ms > lastMs) {
    lastMs = ms;
    // A random start, below half the range, so that a busy millisecond does not overflow it.
    sequence = parseInt(random.slice(15, 18), 16) & 0x3ff;
  } else if (++sequence > 0xfff) {
    // 4,096 ids in one millisecond (or a clock set back): borrow the next one, as the RFC allows.
    lastMs++;
    sequence = 0;
  }
  const time = lastMs.toString(16).padStart(12, '0');
  return `${time.slice(0, 8)}-${time.slice(8)}-7${sequence.toString(16).padStart(3, '0')}${random.slice(18)}`;
}
