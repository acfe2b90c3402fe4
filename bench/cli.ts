/**
 * Section "cli": the commands a pipeline and an author run all day, as whole processes of the
 * installed command (bin/specgate.js, which runs the compiled build, dist/), each a ratio to a bare
 * `node -e 0` started in the same run: `--help` and `check` of one spec (target: within 5x),
 * `generate` of a small document against openapi-mcp-generator's whole process on the same
 * document (target: within 2x) and, outside --short, of GitHub's document (target: no slower);
 * `serve` until /readyz answers with the launch catalog (target: under 1 s) and with 5,000
 * synthetic tools (target: under 5 s). Medians of a few runs; the build is made first if stale.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { projectDir, runNodeTimed, stopChild } from './child.ts';
import { documentFile, specFile } from './fixture.ts';
import { cacheDir, ensureOctokitDocument } from './octokit.ts';
import type { BenchOptions } from './options.ts';
import { binOf, ensurePeers, PEERS } from './peers.ts';
import type { Row, SectionResult } from './report.ts';
import { median, round } from './stats.ts';
import { syntheticConnectors } from './synthetic-catalog.ts';

const SECTION = 'cli (whole processes, compiled build)';
const bin = path.join(projectDir, 'bin', 'specgate.js');
const work = path.join(cacheDir, 'cli');

async function timed(args: string[], runs: number, before?: () => void): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    before?.();
    const run = await runNodeTimed(args, 600_000, { cwd: work });
    if (run.code !== 0) throw new Error(`node ${args.join(' ')} exited with ${run.code}: ${run.stderr.slice(-1500)}`);
    samples.push(run.processMs);
  }
  return median(samples);
}

/** Spawn until /readyz answers 200, in ms, and the tool count `serve` reported. */
async function serveReady(generatedDir: string, mock: boolean, env: NodeJS.ProcessEnv = {}): Promise<{ ms: number; tools: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, [bin, 'serve', ...(mock ? ['--mock'] : []), '--generated', generatedDir, '--port', '0'], { cwd: work, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20_000)));
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`serve exited with ${child.exitCode}: ${stderr.slice(-1500)}`);
      if (performance.now() - started > 180_000) throw new Error(`serve not ready after 180 s: ${stderr.slice(-1500)}`);
      const port = Number(/serving MCP on http:\/\/127\.0\.0\.1:(\d+)\//.exec(stderr)?.[1] ?? 0);
      if (port) {
        const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status === 200, () => false);
        if (ok) return { ms: performance.now() - started, tools: Number(/(\d+) tools\n/.exec(stderr)?.[1] ?? 0) };
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    await stopChild(child);
  }
}

/**
 * A generated folder of `total` synthetic tools, as generate lays one out (JavaScript only: what
 * serve loads), and the environment giving each connector an upstream (none is called).
 */
function syntheticGenerated(total: number): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = path.join(work, `synthetic-${total}`);
  fs.rmSync(dir, { recursive: true, force: true });
  const connectors = syntheticConnectors(total);
  for (const c of connectors) {
    fs.mkdirSync(path.join(dir, c.model.name), { recursive: true });
    fs.writeFileSync(path.join(dir, c.model.name, 'index.js'), `export const model = ${JSON.stringify(c.model)};\nexport const createClient = () => ({});\nexport default { model, createClient };\n`);
  }
  fs.writeFileSync(path.join(dir, 'package.json'), '{ "type": "module" }\n');
  fs.writeFileSync(path.join(dir, 'index.js'), `export const connectors = {\n${connectors.map((c) => `  ${JSON.stringify(c.model.name)}: () => import(${JSON.stringify(`./${c.model.name}/index.js`)}),`).join('\n')}\n};\n`);
  const env = Object.fromEntries(connectors.map((c) => [`SPECGATE_UPSTREAM_${c.model.name.toUpperCase()}`, 'http://127.0.0.1:9/']));
  return { dir, env };
}

const ratio = (ms: number, base: number) => `${round(ms / base, 1)}x`;
const seconds = (ms: number) => `${round(ms / 1000)} s`;
const verdict = (met: boolean) => (met ? 'met' : 'MISSED');

export async function benchCli(options: BenchOptions, log: (line: string) => void): Promise<SectionResult> {
  // The build is what users run; `npm run build` does nothing when dist/ is of these sources.
  execFileSync(process.execPath, [path.join(projectDir, 'scripts', 'build.js')], { stdio: ['ignore', 'inherit', 'inherit'] });
  fs.mkdirSync(work, { recursive: true });
  const runs = options.short ? 3 : 5;
  const rows: Row[] = [];
  const row = (metric: string, value: string) => {
    rows.push({ section: SECTION, metric, value });
    log(`${metric}: ${value}`);
  };

  log(`node -e 0, specgate --help and check, ${runs} runs each`);
  const node = await timed(['-e', '0'], runs);
  const help = await timed([bin, '--help'], runs);
  const check = await timed([bin, 'check', specFile], runs);
  row('node -e 0 (the unit)', `${Math.round(node)} ms`);
  row('specgate --help', `${Math.round(help)} ms, ${ratio(help, node)} (target 5x: ${verdict(help <= 5 * node)})`);
  row('specgate check, one spec', `${Math.round(check)} ms, ${ratio(check, node)} (target 5x: ${verdict(check <= 5 * node)})`);

  const out = path.join(work, 'generated-small');
  log(`specgate generate of the bench document, ${runs} runs`);
  const generate = await timed([bin, 'generate', specFile, '--out', out], runs, () => fs.rmSync(out, { recursive: true, force: true }));
  const details: Record<string, unknown> = { nodeMs: round(node), helpMs: round(help), checkMs: round(check), generateSmallMs: round(generate) };
  const peerProblem = await ensurePeers(log);
  if (peerProblem) {
    row('specgate generate, small document', `${Math.round(generate)} ms, ${ratio(generate, node)} of node (${PEERS.generator.name} not installed: ${peerProblem})`);
  } else {
    const peerOut = path.join(work, 'omg-small');
    log(`${PEERS.generator.name} on the bench document, ${runs} runs`);
    const peer = await timed([binOf(PEERS.generator), '--input', documentFile, '--output', peerOut, '--force'], runs, () => fs.rmSync(peerOut, { recursive: true, force: true }));
    row('specgate generate, small document', `${Math.round(generate)} ms, ${ratio(generate, peer)} of ${PEERS.generator.name} (${Math.round(peer)} ms) (target 2x: ${verdict(generate <= 2 * peer)})`);
    details.peerSmallMs = round(peer);
    if (!options.short) {
      const github = ensureOctokitDocument(log);
      const spec = path.join(cacheDir, 'github.yaml');
      if (fs.existsSync(spec)) {
        const ghOut = path.join(work, 'generated-github');
        const ghPeerOut = path.join(work, 'omg-github');
        log('specgate generate and the peer on GitHub\'s document, once each');
        const ours = await timed([bin, 'generate', spec, '--out', ghOut], 1, () => fs.rmSync(ghOut, { recursive: true, force: true }));
        const theirs = await timed([binOf(PEERS.generator), '--input', github.file, '--output', ghPeerOut, '--force'], 1, () => fs.rmSync(ghPeerOut, { recursive: true, force: true }));
        row('specgate generate, GitHub\'s document (all reads)', `${seconds(ours)}, ${ratio(ours, theirs)} of ${PEERS.generator.name} (${seconds(theirs)}, all operations) (target 1x: ${verdict(ours <= theirs)})`);
        Object.assign(details, { githubMs: round(ours), peerGithubMs: round(theirs) });
      } else {
        row('specgate generate, GitHub\'s document', `skipped: ${spec} is made by the generator section`);
      }
    }
  }

  log('serve --mock with the launch catalog (specs/), until /readyz');
  const launch = path.join(work, 'generated-launch');
  fs.rmSync(launch, { recursive: true, force: true });
  const specs = path.join(projectDir, 'specs');
  const generated = await runNodeTimed([bin, 'generate', specs, '--out', launch], 600_000, { cwd: work });
  if (generated.code !== 0) {
    row('serve --mock, launch catalog', `skipped: specs/ does not generate here: ${generated.stderr.slice(-300).replace(/\s+/g, ' ')}`);
  } else {
    const samples = [];
    for (let i = 0; i < runs; i++) samples.push(await serveReady(launch, true));
    const ms = median(samples.map((s) => s.ms));
    row('serve --mock, launch catalog, spawn until /readyz', `${Math.round(ms)} ms, ${samples[0].tools} tools (target 1 s: ${verdict(ms < 1000)})`);
    details.serveLaunchMs = round(ms);
  }
  log('serve with 5,000 synthetic tools, until /readyz');
  const synthetic = syntheticGenerated(5000);
  const big = [];
  for (let i = 0; i < Math.min(runs, 3); i++) big.push(await serveReady(synthetic.dir, false, synthetic.env));
  const bigMs = median(big.map((s) => s.ms));
  row('serve, 5,000 tools, spawn until /readyz', `${Math.round(bigMs)} ms, ${big[0].tools} tools (target 5 s: ${verdict(bigMs < 5000)})`);
  details.serve5000Ms = round(bigMs);
  return { name: 'cli', rows, details };
}
