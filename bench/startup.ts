/**
 * Section 4: `specgate serve --mock` with the whole catalog, from spawn until /readyz answers
 * 200, and its resident memory then. The catalog is every spec in specs/ when there are any,
 * else the generated GitHub connector of section 1.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { generate } from '../generator/generate.ts';
import { defaultSpecsDir } from '../generator/paths.ts';
import { projectDir, rssMiB, runTimed, stopChild } from './child.ts';
import { githubGeneratedDir } from './generator.ts';
import { cacheDir } from './octokit.ts';
import type { BenchOptions } from './options.ts';
import type { SectionResult } from './report.ts';
import { round } from './stats.ts';

const TIMEOUT_MS = 180_000;
const POLL_MS = 20;

interface Catalog { dir: string; label: string }

async function catalogToServe(log: (line: string) => void): Promise<Catalog> {
  const specs = fs.existsSync(defaultSpecsDir)
    ? fs.readdirSync(defaultSpecsDir).filter((f) => /\.ya?ml$/i.test(f)).sort().map((f) => path.join(defaultSpecsDir, f))
    : [];
  if (specs.length > 0) {
    const dir = path.join(cacheDir, 'generated-specs');
    log(`generate the ${specs.length} spec(s) in specs/`);
    fs.rmSync(dir, { recursive: true, force: true });
    const result = await generate(specs, { outDir: dir, check: false });
    const errors = result.diagnostics.filter((d) => d.severity === 'error');
    if (errors.length === 0) return { dir, label: `specs/ (${specs.length} specs)` };
    log(`specs/ does not generate (${errors[0].file}:${errors[0].line} ${errors[0].message}); using the GitHub connector instead`);
  }
  if (!fs.existsSync(path.join(githubGeneratedDir, 'index.ts'))) {
    const specFile = path.join(cacheDir, 'github.yaml');
    if (!fs.existsSync(specFile)) throw new Error(`no catalog to start: specs/ is empty and ${specFile} is missing (run the generator section first)`);
    log('generate the GitHub connector');
    await runTimed('generate', ['generate', specFile, githubGeneratedDir], 300_000);
  }
  return { dir: githubGeneratedDir, label: 'GitHub (all reads)' };
}

async function readyz(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/readyz`);
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

export async function benchStartup(_options: BenchOptions, log: (line: string) => void): Promise<SectionResult> {
  const catalog = await catalogToServe(log);
  log(`start specgate serve --mock with ${catalog.label}`);
  const started = performance.now();
  const child = spawn(process.execPath, [path.join(projectDir, 'bin', 'specgate.js'), 'serve', '--mock', '--generated', catalog.dir, '--port', '0', '--host', '127.0.0.1'], {
    cwd: projectDir,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20_000)));
  try {
    // The port is chosen by the OS (--port 0): `serve` names it on stderr once it listens.
    let port = 0;
    let ready = false;
    while (!ready) {
      if (child.exitCode !== null) throw new Error(`specgate serve exited with code ${child.exitCode}:\n${stderr.slice(-2000)}`);
      if (performance.now() - started > TIMEOUT_MS) throw new Error(`specgate serve not ready after ${TIMEOUT_MS} ms:\n${stderr.slice(-2000)}`);
      if (!port) port = Number(/serving MCP on http:\/\/127\.0\.0\.1:(\d+)\//.exec(stderr)?.[1] ?? 0);
      if (port) ready = await readyz(port);
      if (!ready) await new Promise((r) => setTimeout(r, POLL_MS));
    }
    const readyMs = performance.now() - started;
    const rss = rssMiB(child.pid ?? 0);
    const summary = /(\d+) connector\(s\), (\d+) tools/.exec(stderr);
    const connectors = Number(summary?.[1] ?? 0);
    const tools = Number(summary?.[2] ?? 0);
    const section = 'startup (serve --mock)';
    return {
      name: 'startup',
      rows: [
        { section, metric: `catalog: ${catalog.label}`, value: `${connectors} connector(s), ${tools} tools` },
        { section, metric: 'spawn until /readyz 200', value: `${round(readyMs / 1000)} s` },
        { section, metric: 'RSS when ready', value: `${Math.round(rss)} MiB` },
      ],
      details: { catalog: catalog.label, connectors, tools, readyMs: round(readyMs), rssMiB: round(rss, 1) },
    };
  } finally {
    await stopChild(child);
  }
}
