/**
 * Drives the MCP Inspector's command-line client (@modelcontextprotocol/inspector --cli) against
 * specgate, over Streamable HTTP (`serve --mock` on a free port) and over stdio (`stdio --mock`,
 * spawned by the Inspector), in both protocol eras: `legacy` (2025 initialize handshake) and
 * `modern` (2026-07-28, server/discover + per-request _meta).
 *
 * For each transport and era it initializes (and checks the negotiated era), lists the tools
 * (`--strict`: a tool schema the Inspector deems non-portable at error severity fails the run) and
 * calls a tool with arguments built from its input schema.
 *
 *   node --import tsx scripts/inspector.ts
 *
 * Env: SPECGATE_GENERATED, SPECGATE_CLIENTS_CACHE, SPECGATE_NODE22 (see scripts/mcp-clients.ts);
 * SPECGATE_INSPECTOR_TOOL to pick the tool to call. Exit code 0 when every step passes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { sampleArguments } from '../test/helpers/sample-args.ts';
import { cacheDir, CLIENT_VERSIONS, ensureCatalog, ensureClientTools, log, projectRoot, run, startDeadline, seconds, shown, startServer, specgateCommand, type ClientTools, type RunningServer } from './mcp-clients.ts';

export const ERAS = ['legacy', 'modern'] as const;
export type Era = (typeof ERAS)[number];

interface Tool {
  name: string;
  inputSchema: { required?: string[]; [k: string]: unknown };
}

interface StepResult {
  name: string;
  ok: boolean;
  detail: string;
}

/** The Inspector's `--format json` answer: `{ result }` on success, `{ error }` otherwise. */
export interface InspectorAnswer {
  exit: number;
  result?: Record<string, unknown>;
  error?: { code?: string; message?: string };
  raw: string;
}

export function parseAnswer(exit: number, stdout: string, stderr: string): InspectorAnswer {
  for (const text of [stdout, stderr]) {
    const start = text.indexOf('{');
    if (start < 0) continue;
    try {
      const doc = JSON.parse(text.slice(start)) as { result?: Record<string, unknown>; error?: InspectorAnswer['error'] };
      if (doc.result || doc.error) return { exit, ...doc, raw: text };
    } catch {
      // not the JSON answer; try the other stream
    }
  }
  return { exit, raw: `${stdout}\n${stderr}`.trim() };
}

/** Isolated from the user's ~/.mcp-inspector: catalog, client config and OAuth state live in the cache. */
function inspectorEnv(): NodeJS.ProcessEnv {
  const home = path.join(cacheDir, 'inspector-home');
  fs.mkdirSync(home, { recursive: true });
  return {
    ...process.env,
    HOME: home,
    USERPROFILE: home,
    MCP_CATALOG_PATH: path.join(home, 'mcp.json'),
    MCP_CLIENT_CONFIG_PATH: path.join(home, 'client.json'),
    NO_COLOR: '1',
  };
}

class Inspector {
  private readonly env = inspectorEnv();
  /** How long the last call took, for the summary. */
  lastTook = '';
  constructor(
    private readonly tools: ClientTools,
    /** The Inspector's target: a URL, or `--cwd <root> -- <command...>` for stdio. */
    private readonly target: string[],
  ) {}

  async call(era: Era, methodArgs: string[], timeoutMs = 120_000): Promise<InspectorAnswer> {
    const args = [this.tools.inspector, '--cli', '--format', 'json', '--protocol-era', era, '--stored-auth-only', ...methodArgs, ...this.target];
    const started = Date.now();
    const r = await run(this.tools.node, args, { env: this.env, timeoutMs });
    this.lastTook = seconds(started);
    if (r.timedOut) return { exit: 124, raw: `timed out after ${timeoutMs} ms\n${r.stderr}` };
    return parseAnswer(r.code, r.stdout, r.stderr);
  }
}

const ERA_PROTOCOL: Record<Era, (v: string) => boolean> = {
  modern: (v) => v === '2026-07-28',
  legacy: (v) => /^(2024|2025)-\d\d-\d\d$/.test(v),
};

function failure(answer: InspectorAnswer): string {
  if (answer.error) return `exit ${answer.exit}: ${answer.error.code ?? 'error'}: ${answer.error.message ?? ''}`;
  return `exit ${answer.exit}: ${answer.raw.slice(0, 800)}`;
}

function toolsOf(answer: InspectorAnswer): Tool[] {
  const tools = answer.result?.tools;
  return Array.isArray(tools) ? (tools as Tool[]) : [];
}

/** A successful tools/call: exit 0, not isError, some content. */
function callProblem(answer: InspectorAnswer): string | undefined {
  if (answer.exit !== 0 || !answer.result) return failure(answer);
  if (answer.result.isError === true) return `isError result: ${JSON.stringify(answer.result.content).slice(0, 300)}`;
  const content = answer.result.content;
  if (!Array.isArray(content) || content.length === 0) return 'result has no content';
  return undefined;
}

/**
 * The tool to call: SPECGATE_INSPECTOR_TOOL, else the first (tools with required arguments first,
 * then by name) that answers successfully on the mock. A tool that needs a customer context
 * legitimately answers isError while the runtime has no identity; it is skipped.
 */
async function chooseTool(inspector: Inspector, tools: Tool[]): Promise<{ tool: Tool; args: Record<string, unknown> }> {
  const forced = process.env.SPECGATE_INSPECTOR_TOOL;
  const candidates = forced
    ? tools.filter((t) => t.name === forced)
    : [...tools].sort((a, b) => Number((b.inputSchema.required?.length ?? 0) > 0) - Number((a.inputSchema.required?.length ?? 0) > 0) || a.name.localeCompare(b.name));
  if (candidates.length === 0) throw new Error(forced ? `SPECGATE_INSPECTOR_TOOL=${forced}: no such tool in the catalog` : 'the catalog lists no tools');
  const tried: string[] = [];
  for (const tool of candidates.slice(0, 8)) {
    const args = sampleArguments(tool.inputSchema);
    const answer = await inspector.call('modern', ['--method', 'tools/call', '--tool-name', tool.name, '--tool-args-json', JSON.stringify(args)]);
    const problem = callProblem(answer);
    if (!problem) return { tool, args };
    tried.push(`${tool.name}: ${problem}`);
  }
  throw new Error(`no tool call succeeded against the mock:\n  ${tried.join('\n  ')}`);
}

async function checkTransport(
  label: string,
  inspector: Inspector,
  expectedTools: string[],
  call: { tool: Tool; args: Record<string, unknown> },
): Promise<StepResult[]> {
  const steps: StepResult[] = [];
  const step = (name: string, problem: string | undefined, detail: string) =>
    steps.push({ name: `${label} ${name}`, ok: !problem, detail: `${problem ?? detail} (${inspector.lastTook})` });
  for (const era of ERAS) {
    const init = await inspector.call(era, ['--method', 'initialize']);
    const version = String(init.result?.protocolVersion ?? '');
    const server = (init.result?.serverInfo as { name?: string } | undefined)?.name;
    step(
      `${era} initialize`,
      init.exit !== 0 ? failure(init) : !ERA_PROTOCOL[era](version) ? `negotiated protocol version '${version}' is not the ${era} era` : server !== 'specgate' ? `serverInfo.name is '${server}'` : undefined,
      `protocol ${version}`,
    );

    const list = await inspector.call(era, ['--method', 'tools/list', '--strict']);
    const names = toolsOf(list).map((t) => t.name);
    const missing = expectedTools.filter((n) => !names.includes(n));
    step(
      `${era} tools/list --strict`,
      list.exit !== 0 ? failure(list) : names.length !== expectedTools.length || missing.length ? `listed ${names.length} tools, expected ${expectedTools.length} (missing: ${missing.slice(0, 5).join(', ') || 'none'})` : undefined,
      `${names.length} tools, no error-severity schema problem`,
    );

    const answer = await inspector.call(era, ['--method', 'tools/call', '--tool-name', call.tool.name, '--tool-args-json', JSON.stringify(call.args)]);
    step(`${era} tools/call ${call.tool.name}`, callProblem(answer), `${JSON.stringify(call.args)} -> ${(answer.result?.content as unknown[] | undefined)?.length ?? 0} content block(s)${answer.result?.structuredContent ? ' + structuredContent' : ''}`);
  }
  return steps;
}

async function main(): Promise<number> {
  startDeadline('inspector');
  const started = Date.now();
  const tools = await ensureClientTools();
  const catalog = await ensureCatalog();
  let server: RunningServer | undefined;
  const steps: StepResult[] = [];
  try {
    // Every tool listed, not the discovery meta-tools: the Inspector checks each definition strictly.
    server = await startServer(catalog, undefined, ['--discovery', 'off']);
    log(`\n=== inspector ${CLIENT_VERSIONS.inspector} --cli: ${server.url} and stdio (catalog ${shown(catalog)})`);
    const http = new Inspector(tools, [server.url]);
    const listed = await http.call('modern', ['--method', 'tools/list']);
    const all = toolsOf(listed);
    if (all.length === 0) throw new Error(`tools/list over HTTP returned no tools: ${failure(listed)}`);
    const expected = all.map((t) => t.name);
    const call = await chooseTool(http, all);
    log(`tool to call: ${call.tool.name} ${JSON.stringify(call.args)}`);

    steps.push(...(await checkTransport('http ', http, expected, call)));
    await server.stop();
    server = undefined;
    const [cmd, args] = specgateCommand(['stdio', '--mock', '--generated', catalog, '--discovery', 'off']);
    const stdio = new Inspector(tools, ['--cwd', projectRoot, '--', cmd, ...args]);
    steps.push(...(await checkTransport('stdio', stdio, expected, call)));
  } finally {
    await server?.stop();
  }

  log(`\n=== inspector summary (${Math.round((Date.now() - started) / 1000)} s)`);
  for (const s of steps) log(`${s.ok ? 'PASS' : 'FAIL'}  ${s.name}: ${s.detail}`);
  const failed = steps.filter((s) => !s.ok).length;
  log(`${steps.length - failed}/${steps.length} steps passed`);
  return failed === 0 && steps.length > 0 ? 0 : 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename ?? '')) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      log(`inspector: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
