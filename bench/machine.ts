/** What the numbers were measured on, written next to them. */
import fs from 'node:fs';
import os from 'node:os';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  platform: string;
  /** 1-minute load average when the bench started and ended: other work skews the figures. */
  loadAverage: { start: number; end?: number };
  /**
   * Milliseconds a fixed piece of JavaScript took (median of 3). This host's speed has varied
   * up to 20x, between days and within minutes, with the load average low: figures from two runs
   * compare in proportion to this, not as they stand.
   */
  cpuCheckMs: number;
  date: string;
}

function cpuCheckMs(): number {
  const times: number[] = [];
  for (let run = 0; run < 3; run++) {
    const started = performance.now();
    let x = 0;
    for (let i = 0; i < 100_000_000; i++) x = (x + i) | 0;
    times.push(performance.now() - started + (x === 0.5 ? 1 : 0)); // x is used: the loop cannot be dropped
  }
  return Math.round(times.sort((a, b) => a - b)[1]);
}

function cpuModel(): string {
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    if (match) return match[1].trim();
  } catch {
    // Not Linux: fall through to what os reports.
  }
  return os.cpus()[0]?.model ?? 'unknown';
}

export function describeMachine(): Machine {
  return {
    cpu: cpuModel(),
    cores: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    loadAverage: { start: Math.round(os.loadavg()[0] * 100) / 100 },
    cpuCheckMs: cpuCheckMs(),
    date: new Date().toISOString(),
  };
}
