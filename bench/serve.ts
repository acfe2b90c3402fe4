/**
 * `specgate serve` as a child process, the way an operator runs it: the governed bench connector
 * over a store, pointed at the bench upstream through SPECGATE_UPSTREAM_<CONNECTOR>. Used by the
 * crash suite (which SIGKILLs it) and the load gate.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { projectDir, stopChild } from './child.ts';
import { CONNECTOR } from './fixture.ts';

export interface Served {
  child: ChildProcess;
  url: string;
  /** Resolves when the process has exited, however it ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

const READY = /serving MCP on (http:\/\/127\.0\.0\.1:\d+\/mcp)/;

export async function startServe(options: { generatedDir: string; storeUrl: string; upstreamBaseUrl: string; timeoutMs?: number }): Promise<Served> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const child = spawn(process.execPath, [
    path.join(projectDir, 'bin', 'specgate.js'), 'serve',
    '--generated', options.generatedDir, '--store', options.storeUrl, '--port', '0', '--host', '127.0.0.1',
  ], {
    cwd: projectDir,
    // Request logs would cost the served process more than the bench wants to measure.
    env: { ...process.env, LOG_LEVEL: 'warn', [`SPECGATE_UPSTREAM_${CONNECTOR.toUpperCase()}`]: options.upstreamBaseUrl },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`specgate serve not ready after ${timeoutMs} ms:\n${stderr.slice(-2000)}`));
    }, timeoutMs);
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-50_000);
      const m = READY.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`specgate serve exited (code ${code}, signal ${signal}) before it was ready:\n${stderr.slice(-2000)}`));
    });
  });
  return { child, url, exited, stderr: () => stderr };
}

/** A graceful shutdown drains in-flight calls: give it longer than a bench worker. */
export const stopServe = (served: Served): Promise<void> => stopChild(served.child, 10_000);
