/**
 * Section 5: peer tools from npm on the same document and the same upstream, in the same run.
 * Installed on demand into bench/.cache/peers (pinned versions, never project dependencies):
 *  - openapi-mcp-generator: generates an MCP server project from an OpenAPI document. Timed on
 *    GitHub's document (every operation: it has no read-only selection), then its server for the
 *    bench document is generated, its own dependencies installed, and run under tsx.
 *  - @ivotoby/openapi-mcp-server: serves an OpenAPI document directly (--transport http).
 * Both keep MCP sessions and one answers tools/call on its GET stream, which autocannon cannot
 * follow, so every target here, specgate included, is loaded through the official MCP client
 * (bench/sdk-load.ts) and ratios are to specgate without the chain. A peer that cannot be
 * installed or run here gets a row saying why; the other figures stand.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { runNodeTimed, stopChild, tail, type RunningChild } from './child.ts';
import { startTargets } from './call-cost.ts';
import { documentFile } from './fixture.ts';
import { CONNECTIONS, measureInTurn, ratioRows, type Contender } from './in-turn.ts';
import { cacheDir, ensureOctokitDocument } from './octokit.ts';
import type { BenchOptions } from './options.ts';
import type { Row, SectionResult } from './report.ts';
import { checkMcpTarget, sdkLoad, type McpTarget } from './sdk-load.ts';
import { round } from './stats.ts';

const exec = promisify(execFile);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const peersDir = path.join(cacheDir, 'peers');
const SECTION = 'peers (same document, same upstream)';

export const PEERS = {
  generator: { name: 'openapi-mcp-generator', version: '4.0.1', bin: 'bin/openapi-mcp-generator.js' },
  server: { name: '@ivotoby/openapi-mcp-server', version: '1.16.1', bin: 'bin/mcp-server.js' },
} as const;

const packageDir = (name: string) => path.join(peersDir, 'node_modules', ...name.split('/'));
export const binOf = (peer: (typeof PEERS)[keyof typeof PEERS]) => path.join(packageDir(peer.name), peer.bin);
/** The project's tsx loader, for running a generated TypeScript project that does not depend on tsx. */
const tsxLoader = import.meta.resolve('tsx');

function installedVersion(name: string): string | undefined {
  try {
    return (JSON.parse(fs.readFileSync(path.join(packageDir(name), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return undefined;
  }
}

/** Installs the pinned peers once; returns why not when the registry or npm refuses. */
export async function ensurePeers(log: (line: string) => void): Promise<string | undefined> {
  const wanted = Object.values(PEERS).filter((p) => installedVersion(p.name) !== p.version);
  if (wanted.length === 0) return undefined;
  log(`installing ${wanted.map((p) => `${p.name}@${p.version}`).join(', ')} into ${path.relative(process.cwd(), peersDir)}/ (not project dependencies)`);
  fs.mkdirSync(peersDir, { recursive: true });
  try {
    await exec(npm, ['install', '--prefix', peersDir, '--no-save', '--no-audit', '--no-fund', '--loglevel=error', ...wanted.map((p) => `${p.name}@${p.version}`)], { timeout: 300_000 });
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    return tail(e.stderr || e.message, 3).replace(/\s+/g, ' ');
  }
  return undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Polls until an HTTP server answers on the port (any status), or the process exits. */
async function waitForPort(child: RunningChild<unknown>['child'], port: number, what: string, stderr: () => string): Promise<void> {
  const deadline = performance.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode}: ${tail(stderr(), 5)}`);
    if (performance.now() > deadline) throw new Error(`${what} did not listen on ${port} within 120 s: ${tail(stderr(), 5)}`);
    try {
      await (await fetch(`http://127.0.0.1:${port}/`)).arrayBuffer();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

interface PeerServer {
  url: string;
  stop(): Promise<void>;
  /** When the process has died: how it ended and the last lines it wrote. */
  death(): string | undefined;
}

/** A long-running peer process that does not report itself: ready when its port answers. */
async function startPeerProcess(args: string[], what: string, port: number, options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<PeerServer> {
  const child = spawn(process.execPath, args, { cwd: options.cwd ?? peersDir, env: { ...process.env, ...options.env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20_000)));
  const stop = () => stopChild(child);
  try {
    await waitForPort(child, port, what, () => stderr);
  } catch (error) {
    await stop();
    throw error;
  }
  const death = () => (child.exitCode !== null || child.signalCode !== null
    ? `${what} exited (code ${child.exitCode}, signal ${child.signalCode}): ${tail(stderr, 12).split('\n').filter((l) => /error/i.test(l)).slice(0, 2).join(' ').slice(0, 300)}`
    : undefined);
  return { url: `http://127.0.0.1:${port}/mcp`, stop, death };
}

/** openapi-mcp-generator on GitHub's document: time and peak memory of one generation. */
async function generatorOnGithub(log: (line: string) => void): Promise<Row> {
  const github = ensureOctokitDocument(log);
  const out = path.join(peersDir, 'omg-github');
  fs.rmSync(out, { recursive: true, force: true });
  log(`${PEERS.generator.name} on GitHub's document`);
  const run = await runNodeTimed([binOf(PEERS.generator), '--input', github.file, '--output', out, '--force'], 600_000);
  const metric = `${PEERS.generator.name} ${PEERS.generator.version}: generate from GitHub's document (all operations)`;
  if (run.code !== 0) return { section: SECTION, metric, value: `failed (${run.code === null ? 'killed at 600 s' : `exit ${run.code}`}): ${tail(run.stderr, 2).replace(/\s+/g, ' ').slice(0, 200)}` };
  const tools = (fs.readFileSync(path.join(out, 'src', 'index.ts'), 'utf8').match(/^\s*\["[^"]+",\s*\{\s*name:/gm) ?? []).length;
  return {
    section: SECTION,
    metric,
    value: `${round(run.processMs / 1000)} s whole process, peak RSS ${run.peakRssMiB === undefined ? '?' : Math.round(run.peakRssMiB)} MiB${tools ? `, ${tools} tools` : ''} (ours: see the generator section)`,
  };
}

/** openapi-mcp-generator's server for the bench document: generated, its dependencies installed, run under tsx. */
async function startGeneratedServer(baseUrl: string, log: (line: string) => void): Promise<PeerServer> {
  const port = await freePort();
  const out = path.join(peersDir, 'omg-items');
  const generated = await runNodeTimed([binOf(PEERS.generator), '--input', documentFile, '--output', out, '--transport=streamable-http', `--port=${port}`, `--base-url=${baseUrl}`, '--force'], 120_000);
  if (generated.code !== 0) throw new Error(`generation failed: ${tail(generated.stderr, 3)}`);
  if (!fs.existsSync(path.join(out, 'node_modules', '@modelcontextprotocol', 'sdk'))) {
    log(`installing the generated server's own dependencies in ${path.relative(process.cwd(), out)}/`);
    await exec(npm, ['install', '--prefix', out, '--omit=dev', '--no-audit', '--no-fund', '--loglevel=error'], { timeout: 300_000 });
  }
  return startPeerProcess(['--import', tsxLoader, path.join(out, 'src', 'index.ts'), '--transport=streamable-http'], PEERS.generator.name, port, { cwd: out, env: { API_BASE_URL: baseUrl } });
}

async function startOpenapiMcpServer(baseUrl: string): Promise<PeerServer> {
  const port = await freePort();
  return startPeerProcess([binOf(PEERS.server), '--api-base-url', baseUrl, '--openapi-spec', documentFile, '--transport', 'http', '--port', String(port), '--host', '127.0.0.1'], PEERS.server.name, port);
}

const listItemsTool = (names: string[]) => names.find((n) => /list.?items|lst.?items|get.?items/i.test(n)) ?? (names.length === 1 ? names[0] : undefined);

function mcpContender(key: string, label: string, target: McpTarget, items: number): Contender {
  return {
    key, label, url: target.url, headers: target.headers,
    check: () => checkMcpTarget(target, items),
    load: (seconds, tolerateErrors) => sdkLoad(target, { seconds, clients: CONNECTIONS, items, tolerateErrors }),
  };
}

export async function benchPeers(options: BenchOptions, log: (line: string) => void): Promise<SectionResult> {
  const rows: Row[] = [];
  const notInstallable = await ensurePeers(log);
  if (notInstallable) {
    for (const p of Object.values(PEERS)) rows.push({ section: SECTION, metric: `${p.name}@${p.version}`, value: `not installable here: ${notInstallable}` });
    return { name: 'peers', rows, details: { notInstallable } };
  }
  try {
    rows.push(await generatorOnGithub(log));
  } catch (error) {
    rows.push({ section: SECTION, metric: `${PEERS.generator.name}: generate from GitHub's document`, value: `not measured: ${(error as Error).message.split('\n')[0]}` });
  }

  const started = await startTargets(['b', 'c'], SECTION);
  const peers: PeerServer[] = [];
  try {
    const { upstream } = started;
    const contenders = started.contenders.map((c) => mcpContender(c.key, c.label, { url: c.url, headers: c.headers, pickTool: listItemsTool }, upstream.items));
    const attempts: Array<[string, string, () => Promise<PeerServer>]> = [
      ['p1', `${PEERS.generator.name} ${PEERS.generator.version} (generated server)`, () => startGeneratedServer(upstream.baseUrl, log)],
      ['p2', `${PEERS.server.name} ${PEERS.server.version}`, () => startOpenapiMcpServer(upstream.baseUrl)],
    ];
    for (const [key, label, start] of attempts) {
      let server: PeerServer | undefined;
      try {
        server = await start();
        peers.push(server);
        const contender = mcpContender(key, label, { url: server.url, headers: {}, pickTool: listItemsTool }, upstream.items);
        await contender.check();
        contenders.push(contender);
      } catch (error) {
        // Give the process a moment to finish dying, so its own last words explain the failure.
        await new Promise((r) => setTimeout(r, 500));
        const why = server?.death() ?? (error as Error).message.split('\n')[0].slice(0, 300);
        rows.push({ section: SECTION, metric: `(${key}) ${label}`, value: `could not be run here: ${why}` });
      }
    }
    const result = await measureInTurn(contenders, options, log);
    const table = ratioRows(SECTION, result);
    return {
      name: 'peers',
      rows: [{ section: SECTION, metric: 'load generator', value: `official MCP client (SDK 1.x), ${CONNECTIONS} clients, one call in flight each` }, ...table.rows, ...rows],
      details: { peers: PEERS, seconds: result.seconds, targets: table.details, notes: rows.map((r) => `${r.metric}: ${r.value}`) },
    };
  } finally {
    for (const p of peers) await p.stop();
    await started.stop();
  }
}
