/**
 * The crash suite: sustained tools/call load from concurrent clients against `specgate serve`
 * with the governance chain on, SIGKILL of the server in the middle of it, a restart on the same
 * store, more load; then the proof that no answered call lost its records: every call that got
 * an answer has exactly one usage row and one audit record (matched by the x-request-id the
 * answer carries, which is the call id both are keyed by), none has two, and the audit chain
 * verifies with `specgate audit verify`. Calls cut off by the kill got no answer: they may or may
 * not have been recorded, and are counted apart.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';
import { openStore } from '../runtime/store/index.ts';
import { projectDir } from './child.ts';
import { CONNECTOR, generateBenchConnector, startUpstream } from './fixture.ts';
import { hasAllItems, MCP_HEADERS, parseAnswer, toolsCallBody } from './mcp-answer.ts';
import { BENCH_TENANT, seedStore } from './seed.ts';
import { startServe, stopServe, type Served } from './serve.ts';

export interface CrashOptions {
  storeUrl: string;
  /** Concurrent clients, each with one call in flight at a time. */
  clients: number;
  /** SIGKILLs, each followed by a restart on the same store. */
  kills: number;
  /** Answered calls per phase (before the first kill, between kills, after the last). */
  callsPerPhase: number;
  log?: (line: string) => void;
}

export interface CrashReport {
  store: string;
  kills: number;
  /** Exit signal of each killed process (SIGKILL when the kill really happened mid-run). */
  killSignals: Array<string | null>;
  attempts: number;
  answered: number;
  answeredOk: number;
  /** The first answer that was not the upstream's items, for the diagnosis. */
  firstNotOk?: string;
  /** Attempts that got no answer (connection reset or refused while the server was down). */
  unanswered: number;
  usageRows: number;
  auditRecords: number;
  /** Answered calls without exactly one usage row / audit record. */
  answeredWithoutUsage: string[];
  answeredWithoutAudit: string[];
  duplicateUsage: string[];
  duplicateAudit: string[];
  /** Records of calls whose answer never arrived (allowed: the commit came before the kill). */
  recordedButUnanswered: number;
  auditVerify: { exitCode: number; output: string };
  seconds: number;
}

const run = promisify(execFile);

interface Answered { requestId: string; ok: boolean }

export async function runCrashSuite(options: CrashOptions): Promise<CrashReport> {
  const log = options.log ?? (() => {});
  const started = performance.now();
  const generatedDir = await generateBenchConnector();
  const upstream = await startUpstream();
  const { headers: seeded } = await seedStore(options.storeUrl, CONNECTOR);
  const headers = { ...MCP_HEADERS, ...seeded };
  const body = toolsCallBody();
  const answered: Answered[] = [];
  let attempts = 0;
  let unanswered = 0;
  let stopping = false;
  let firstNotOk: string | undefined;
  const killSignals: Array<string | null> = [];
  // A fresh pool per server process: a killed server's sockets must not be reused.
  let agent = new Agent({ connections: options.clients });
  let served: Served | undefined;
  const serve = () => startServe({ generatedDir, storeUrl: options.storeUrl, upstreamBaseUrl: upstream.ready.baseUrl });

  async function client(): Promise<void> {
    while (!stopping) {
      const target = served;
      if (!target || target.child.exitCode !== null || target.child.signalCode !== null) {
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      attempts++;
      try {
        const response = await request(target.url, { method: 'POST', headers, body, dispatcher: agent, headersTimeout: 30_000, bodyTimeout: 30_000 });
        const text = await response.body.text();
        const answer = parseAnswer(response.statusCode, String(response.headers['content-type'] ?? ''), text);
        const requestId = response.headers['x-request-id'];
        if (typeof requestId !== 'string') throw new Error(`an answer without x-request-id (status ${response.statusCode}): ${text.slice(0, 200)}`);
        if (!answer.result) throw new Error(`an answer that is not a tool result (status ${response.statusCode}): ${text.slice(0, 300)}`);
        const ok = hasAllItems(answer, upstream.ready.items);
        if (!ok) firstNotOk ??= text.slice(0, 300);
        answered.push({ requestId, ok });
      } catch (error) {
        const code = (error as { code?: string }).code ?? '';
        // Only the kill may cut a call off; anything else is a failure of the suite.
        if (!/^(ECONNRESET|ECONNREFUSED|UND_ERR_SOCKET|UND_ERR_CLOSED|UND_ERR_DESTROYED|EPIPE)$/.test(code)) throw error;
        unanswered++;
      }
    }
  }

  async function untilAnswered(count: number): Promise<void> {
    const deadline = performance.now() + 300_000;
    while (answered.length < count) {
      if (performance.now() > deadline) throw new Error(`only ${answered.length} of ${count} calls answered in 300 s`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  try {
    served = await serve();
    log(`serving on ${served.url} over ${redactUrl(options.storeUrl)}; ${options.clients} clients`);
    const clients = Array.from({ length: options.clients }, () => client());
    const failed = Promise.all(clients);
    const guard = failed.then(() => undefined);
    for (let phase = 0; phase <= options.kills; phase++) {
      await Promise.race([untilAnswered((phase + 1) * options.callsPerPhase), guard]);
      if (phase === options.kills) break;
      const victim = served;
      victim.child.kill('SIGKILL');
      const exit = await victim.exited;
      killSignals.push(exit.signal);
      log(`SIGKILL after ${answered.length} answered calls (${unanswered} cut off so far); restarting on the same store`);
      await agent.destroy();
      agent = new Agent({ connections: options.clients });
      served = await serve();
    }
    stopping = true;
    await failed;
  } finally {
    stopping = true;
    if (served) await stopServe(served);
    await agent.close();
    await upstream.stop();
  }

  const records = await readRecords(options.storeUrl);
  const count = (ids: string[]) => ids.reduce((m, id) => m.set(id, (m.get(id) ?? 0) + 1), new Map<string, number>());
  const usage = count(records.usage);
  const audit = count(records.audit);
  const answeredIds = new Set(answered.map((a) => a.requestId));
  const verify = await auditVerify(options.storeUrl);
  return {
    store: redactUrl(options.storeUrl),
    kills: options.kills,
    killSignals,
    attempts,
    answered: answered.length,
    answeredOk: answered.filter((a) => a.ok).length,
    ...(firstNotOk ? { firstNotOk } : {}),
    unanswered,
    usageRows: records.usage.length,
    auditRecords: records.audit.length,
    answeredWithoutUsage: answered.filter((a) => usage.get(a.requestId) === undefined).map((a) => a.requestId),
    answeredWithoutAudit: answered.filter((a) => audit.get(a.requestId) === undefined).map((a) => a.requestId),
    duplicateUsage: [...usage].filter(([, n]) => n > 1).map(([id]) => id),
    duplicateAudit: [...audit].filter(([, n]) => n > 1).map(([id]) => id),
    recordedButUnanswered: [...new Set([...usage.keys(), ...audit.keys()])].filter((id) => !answeredIds.has(id)).length,
    auditVerify: verify,
    seconds: Math.round((performance.now() - started) / 100) / 10,
  };
}

/** Whether the report shows what the suite claims: no answered call without exactly one of each record, a chain that verifies. */
export function crashProblems(r: CrashReport): string[] {
  const problems: string[] = [];
  if (r.killSignals.length !== r.kills || r.killSignals.some((s) => s !== 'SIGKILL')) problems.push(`expected ${r.kills} SIGKILLs, saw ${JSON.stringify(r.killSignals)}`);
  if (r.answered === 0) problems.push('no call was answered');
  // A tool error (an upstream timeout on a starved machine, the breaker it opens) is still an
  // answered call whose records must be there; only a run with no real execution proves nothing.
  if (r.answered > 0 && r.answeredOk === 0) problems.push(`no answered call returned the upstream's items, e.g. ${r.firstNotOk}`);
  if (r.answeredWithoutUsage.length) problems.push(`${r.answeredWithoutUsage.length} answered calls have no usage row (e.g. ${r.answeredWithoutUsage[0]})`);
  if (r.answeredWithoutAudit.length) problems.push(`${r.answeredWithoutAudit.length} answered calls have no audit record (e.g. ${r.answeredWithoutAudit[0]})`);
  if (r.duplicateUsage.length) problems.push(`${r.duplicateUsage.length} calls have more than one usage row`);
  if (r.duplicateAudit.length) problems.push(`${r.duplicateAudit.length} calls have more than one audit record`);
  if (r.auditVerify.exitCode !== 0) problems.push(`specgate audit verify failed: ${r.auditVerify.output}`);
  return problems;
}

async function readRecords(storeUrl: string): Promise<{ usage: string[]; audit: string[] }> {
  const store = await openStore(storeUrl, { migrate: false });
  try {
    const usage = await store.db.selectFrom('usage').select('call_id').where('tenant_id', '=', BENCH_TENANT).execute();
    const audit = await store.db.selectFrom('audit').select('record').where('tenant_id', '=', BENCH_TENANT).orderBy('seq').execute();
    return {
      usage: usage.map((r) => r.call_id),
      audit: audit.map((r) => String((JSON.parse(r.record) as { callId?: unknown }).callId)),
    };
  } finally {
    await store.close();
  }
}

/** The operator's command, every tenant's chain. */
async function auditVerify(storeUrl: string): Promise<{ exitCode: number; output: string }> {
  try {
    const { stdout } = await run(process.execPath, [path.join(projectDir, 'bin', 'specgate.js'), 'audit', 'verify', '--store', storeUrl], { cwd: projectDir, timeout: 120_000 });
    return { exitCode: 0, output: stdout.trim() };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { exitCode: typeof e.code === 'number' ? e.code : 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}`.trim() };
  }
}

/** A PostgreSQL URL may carry a password: never print it. */
export function redactUrl(url: string): string {
  return url.replace(/^(postgres(?:ql)?:\/\/[^:/@]+):[^@]*@/, '$1:***@');
}
