/**
 * The bench's connector and upstream, shared by the call bench, the peers, the crash suite and
 * the load gate: one read tool (bench/fixtures/items.yaml) generated into bench/.cache, and the
 * node:http upstream of bench/workers/upstream.ts serving its 20 items.
 */
import path from 'node:path';
import { generate } from '../generator/generate.ts';
import { benchDir, startChild, workerPath, type RunningChild } from './child.ts';
import { cacheDir } from './octokit.ts';

export const CONNECTOR = 'benchitems';
export const TOOL = 'benchitems_list_items';
export const specFile = path.join(benchDir, 'fixtures', 'items.yaml');
export const documentFile = path.join(benchDir, 'fixtures', 'items.openapi.yaml');
export const generatedDir = path.join(cacheDir, 'generated');

export interface UpstreamInfo { baseUrl: string; items: number; bytes: number }

/**
 * Argv of a worker run under tsx. With SPECGATE_BENCH_CPU_PROF=<dir>, each worker writes a V8 CPU
 * profile there when it exits (Node refuses --cpu-prof in NODE_OPTIONS).
 */
export const tsx = (worker: string, ...args: string[]) => {
  const profile = process.env.SPECGATE_BENCH_CPU_PROF;
  return [process.execPath, ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : []), '--import', 'tsx', workerPath(worker), ...args];
};

export async function generateBenchConnector(): Promise<string> {
  const generated = await generate([specFile], { outDir: generatedDir, check: false });
  const errors = generated.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) throw new Error(`bench fixture ${specFile} does not generate: ${errors.map((e) => e.message).join('; ')}`);
  return generatedDir;
}

export function startUpstream(): Promise<RunningChild<UpstreamInfo>> {
  return startChild<UpstreamInfo>(tsx('upstream'), { timeoutMs: 90_000 });
}
