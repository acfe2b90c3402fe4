/**
 * Where each target's time goes under the call bench's load: a CPU profile of the target's
 * process over one extra load window (bench/workers/profiler.ts), summarised by owner.
 */
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Contender } from './in-turn.ts';
import { summarizeProfile, type ProfileSummary } from './profile-summary.ts';
import type { Row } from './report.ts';

const PROFILE_NAMES: Record<string, string> = { s: 'sdk-floor', b: 'runtime-ungoverned', c: 'runtime-sqlite', d: 'runtime-postgres' };

async function waitForFile(file: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!fs.existsSync(file)) {
    if (Date.now() > until) throw new Error(`no CPU profile at ${file} after ${timeoutMs} ms`);
    await sleep(100);
  }
  // Written in one call; a size that stops changing is a finished file.
  let size = -1;
  while (fs.statSync(file).size !== size) {
    size = fs.statSync(file).size;
    await sleep(100);
  }
}

export async function profileTargets(contenders: Contender[], dir: string, seconds: number): Promise<Record<string, ProfileSummary & { requests: number }>> {
  const out: Record<string, ProfileSummary & { requests: number }> = {};
  for (const c of contenders) {
    const name = PROFILE_NAMES[c.key];
    if (!name || c.pid === undefined) continue;
    const file = path.join(dir, `${name}.cpuprofile`);
    process.kill(c.pid, 'SIGUSR2');
    await sleep(300);
    const sample = await c.load(seconds, true);
    process.kill(c.pid, 'SIGUSR2');
    await waitForFile(file, 30_000);
    out[c.key] = { ...summarizeProfile(file), requests: sample.requests };
  }
  return out;
}

/** One row per target: busy CPU per call and the owners that take most of it. */
export function profileRows(section: string, profiles: Record<string, ProfileSummary & { requests: number }>): Row[] {
  return Object.entries(profiles).map(([key, p]) => ({
    section,
    metric: `(${key}) where the CPU goes under load (profiled window): busy per call; shares by step`,
    value: `${p.requests ? Math.round((1000 * p.busyMs) / p.requests) : 'n/a'} µs; ${p.byPhase.filter((x) => x.share >= 1).map((x) => `${x.phase} ${x.share}%`).join(', ')}`,
  }));
}
