/**
 * Identifiers the runtime mints: request and call ids, decision ids, approval ids. Time-ordered
 * (UUID v7), so that rows keyed by them (usage.call_id) are appended to their index in order
 * instead of landing on random pages of it, which costs a growing table more pages per commit.
 */
import { randomUUID } from 'node:crypto';

/**
 * RFC 9562 UUID v7: 48-bit milliseconds, then random bits; sorts by creation time. Built on a v4
 * UUID, whose variant bits are v7's too: Node draws v4s from a pooled random buffer, where a
 * fresh randomBytes() per id cost several microseconds on every request.
 */
export function uuidv7(): string {
  const ms = Date.now().toString(16).padStart(12, '0');
  return `${ms.slice(0, 8)}-${ms.slice(8)}-7${randomUUID().slice(15)}`;
}
