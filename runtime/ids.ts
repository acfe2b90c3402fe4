/**
 * Identifiers the runtime mints: request and call ids, decision ids, approval ids. Time-ordered
 * (UUID v7), so that rows keyed by them (usage.call_id) are appended to their index in order
 * instead of landing on random pages of it, which costs a growing table more pages per commit.
 */
import { randomBytes } from 'node:crypto';

/** RFC 9562 UUID v7: 48-bit milliseconds, then random bits; sorts by creation time. */
export function uuidv7(): string {
  const b = randomBytes(16);
  const ms = BigInt(Date.now());
  for (let i = 0; i < 6; i++) b[i] = Number((ms >> BigInt(8 * (5 - i))) & 0xffn);
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
