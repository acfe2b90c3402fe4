/**
 * Child processes for the bench: workers run under tsx in their own process so that their peak
 * memory is theirs alone and so that a server under load does not share a core's event loop with
 * the load generator. A worker reports by printing one line `@@bench <json>` on stdout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

export const benchDir = path.dirname(fileURLToPath(import.meta.url));
export const projectDir = path.resolve(benchDir, '..');
const MARKER = '@@bench ';
const TIME = '/usr/bin/time';

/** What a worker calls to hand its result to the parent. */
export function report(value: unknown): void {
  process.stdout.write(`${MARKER}${JSON.stringify(value)}\n`);
}

export function workerPath(name: string): string {
  return path.join(benchDir, 'workers', `${name}.ts`);
}

export interface TimedRun<T> {
  result: T;
  /** Spawn to exit, including Node and tsx start-up. */
  processMs: number;
  /** Peak resident memory of the worker process, from /usr/bin/time -v or the worker's own maxRSS. */
  peakRssMiB: number;
  rssSource: '/usr/bin/time -v' | 'process.resourceUsage';
}

export interface CommandRun {
  /** Exit code; null when killed at the time limit. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** Spawn to exit. */
  processMs: number;
  /** Peak resident memory from /usr/bin/time -v, when it is installed. */
  peakRssMiB?: number;
}

/** Runs any Node command to completion under /usr/bin/time -v (when present), bounded by timeoutMs. */
export async function runNodeTimed(nodeArgs: string[], timeoutMs: number, options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CommandRun> {
  const useTime = fs.existsSync(TIME);
  const [cmd, cmdArgs] = useTime ? [TIME, ['-v', process.execPath, ...nodeArgs]] : [process.execPath, nodeArgs];
  const started = performance.now();
  const child = spawn(cmd, cmdArgs, { cwd: options.cwd ?? projectDir, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  clearTimeout(timer);
  const processMs = performance.now() - started;
  const timeRss = useTime ? /Maximum resident set size \(kbytes\):\s*(\d+)/.exec(stderr) : null;
  return { code, stdout, stderr, processMs, ...(timeRss ? { peakRssMiB: Number(timeRss[1]) / 1024 } : {}) };
}

/** Runs a worker to completion, bounded by timeoutMs; its result must carry `maxRssKiB`. */
export async function runTimed<T extends { maxRssKiB: number }>(worker: string, args: string[], timeoutMs: number): Promise<TimedRun<T>> {
  const run = await runNodeTimed(['--import', 'tsx', workerPath(worker), ...args], timeoutMs);
  const line = run.stdout.split('\n').reverse().find((l) => l.startsWith(MARKER));
  if (run.code !== 0 || !line) {
    const why = run.code === null ? `killed after ${timeoutMs} ms` : `exit code ${run.code}`;
    throw new Error(`bench worker ${worker} ${args.join(' ')} failed (${why}):\n${tail(run.stderr)}`);
  }
  const result = JSON.parse(line.slice(MARKER.length)) as T;
  return {
    result,
    processMs: run.processMs,
    peakRssMiB: run.peakRssMiB ?? result.maxRssKiB / 1024,
    rssSource: run.peakRssMiB !== undefined ? '/usr/bin/time -v' : 'process.resourceUsage',
  };
}

export interface RunningChild<T> {
  child: ChildProcess;
  /** The worker's first report (it sends one when it is ready to serve). */
  ready: T;
  /** Milliseconds from spawn to that report. */
  readyMs: number;
  stop(): Promise<void>;
}

/** Starts a long-running worker (or any command) and waits for its first `@@bench` report. */
export async function startChild<T>(command: string[], options: { timeoutMs: number; env?: NodeJS.ProcessEnv }): Promise<RunningChild<T>> {
  const started = performance.now();
  const child = spawn(command[0], command.slice(1), {
    cwd: projectDir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8000)));
  const stop = () => stopChild(child);
  try {
    const ready = await new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${command.join(' ')} not ready after ${options.timeoutMs} ms`)), options.timeoutMs);
      const lines = readline.createInterface({ input: child.stdout });
      lines.on('line', (line) => {
        if (line.startsWith(MARKER)) {
          clearTimeout(timer);
          resolve(JSON.parse(line.slice(MARKER.length)) as T);
        }
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${command.join(' ')} exited (code ${code}) before it was ready:\n${tail(stderr)}`));
      });
    });
    return { child, ready, readyMs: performance.now() - started, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** SIGTERM, then SIGKILL if the process outlasts `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Resident memory of a live process, from /proc (Linux); NaN elsewhere. */
export function rssMiB(pid: number): number {
  try {
    const m = /^VmRSS:\s*(\d+)\s*kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

export function tail(text: string, lines = 30): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
