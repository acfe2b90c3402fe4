/**
 * When a client sees the meta-tools instead of the catalog: `on` always, `off` never, `auto` when
 * the caller's visible tools outnumber the operator's threshold (what one caller may use decides
 * what fills its context, not the size of the whole catalog).
 */
export type DiscoveryMode = 'auto' | 'on' | 'off';

export interface DiscoveryOptions {
  mode: DiscoveryMode;
  /** With `auto`: more visible tools than this and the meta-tools are listed instead. */
  threshold: number;
}

export const DEFAULT_DISCOVERY_THRESHOLD = 40;

export function parseDiscoveryMode(value: string, where = '--discovery'): DiscoveryMode {
  if (value === 'auto' || value === 'on' || value === 'off') return value;
  throw new Error(`${where}: expected auto, on or off, got '${value}'`);
}

export function parseDiscoveryThreshold(value: string, where = '--discovery-threshold'): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${where}: expected a whole number of tools (0 or more), got '${value}'`);
  return n;
}

export function discoveryActive(options: DiscoveryOptions | undefined, visibleCount: number): boolean {
  if (!options || options.mode === 'off') return false;
  return options.mode === 'on' || visibleCount > options.threshold;
}
