/**
 * Where a profiled worker's busy time goes: self time grouped by owner (specgate's own folders,
 * each dependency, Node's internals, GC) and the heaviest functions, as shares of non-idle time.
 */
import fs from 'node:fs';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

export interface ProfileSummary {
  busyMs: number;
  /** Busy time by step of the call path: a sample counts for the most specific step on its stack. */
  byPhase: Array<{ phase: string; share: number }>;
  byOwner: Array<{ owner: string; share: number }>;
  topFunctions: Array<{ fn: string; share: number }>;
}

/** The owner of a frame: a package, a specgate folder (runtime/mcp, ...), a Node module, or V8. */
export function ownerOf(url: string): string {
  if (!url) return 'V8 (GC, native, program)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  if (url.startsWith('node:')) return url.startsWith('node:internal/deps/undici') ? 'node:fetch (bundled undici)' : url.replace(/^node:(internal\/)?/, 'node:').split('/').slice(0, 2).join('/');
  const own = /\/(runtime|bench|generator)\/(.*)$/.exec(url.replace(/^file:\/\//, ''));
  if (own) {
    const parts = own[2].split('/');
    return parts.length > 1 ? `${own[1]}/${parts[0]}` : `${own[1]}/${parts[0]}`;
  }
  return url.split('/').slice(-2).join('/');
}

/**
 * The steps of a call, most specific first: a sample whose stack holds the tokenizer is the token
 * count's, even though the SDK's handler and Fastify are further down the same stack. Patterns
 * match the sources and the compiled build alike.
 */
const PROFILER = 'bench profiler';
const PHASES: Array<[string, RegExp]> = [
  [PROFILER, /node:inspector|workers\/profiler/],
  ['token count (o200k)', /gpt-tokenizer/],
  ['store (SQL, SQLite, PostgreSQL)', /runtime\/store\/|better-sqlite3|node_modules\/pg|node_modules\/kysely/],
  ['governance steps', /runtime\/(chain|governance)\/(authenticate|tenant|customer|entitlement|idempotency|policy|rate-limit|approval|quota|response-cache|vendor-budget|meter|audit|record|refusal|limits|glob)|runtime\/governance\.|runtime\/policy\/|cel-js|rate-limiter-flexible/],
  ['shaping (project, compact, conform)', /(chain|execution)\/(shape|compact|conform)|jmespath/],
  ['upstream (openapi-fetch, guard, undici)', /openapi-fetch|runtime\/upstream\/|node_modules\/undici|cockatiel|benchitems\/client/],
  ['call path and other execution steps', /(chain|execution)\/|runtime\/call(-path)?\.|ajv/],
  ['MCP SDK (protocol, validation)', /@modelcontextprotocol|node_modules\/zod/],
  ['HTTP edge (Fastify, hooks, JSON exchange)', /runtime\/(mcp|server|ops|request-context)|fastify|find-my-way|pino|secure-json-parse/],
  ['Node HTTP and sockets', /node:_http|node:net|stream_base_commons|node:internal\/streams/],
];

export function summarizeProfile(file: string, top = 25): ProfileSummary {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfTime = new Map<number, number>();
  profile.samples.forEach((id, i) => selfTime.set(id, (selfTime.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const owners = new Map<string, number>();
  const functions = new Map<string, number>();
  const phases = new Map<string, number>();
  let busy = 0;
  for (const [id, t] of selfTime) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)') continue;
    const stack: string[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) stack.push(byId.get(at)!.callFrame.url);
    const phase = frame.functionName === '(garbage collector)' ? 'garbage collection' : PHASES.find(([, re]) => stack.some((url) => re.test(url)))?.[0] ?? 'other';
    // The profiler's own work is no part of a call: left out of the busy time and the shares.
    if (phase === PROFILER) continue;
    busy += t;
    phases.set(phase, (phases.get(phase) ?? 0) + t);
    const owner = ownerOf(frame.url);
    owners.set(owner, (owners.get(owner) ?? 0) + t);
    const where = frame.url ? `${frame.url.split('/').slice(-2).join('/')}:${frame.lineNumber + 1}` : '';
    const fn = `${frame.functionName || '(anonymous)'} ${where}`.trim();
    functions.set(fn, (functions.get(fn) ?? 0) + t);
  }
  const share = (t: number) => Math.round((1000 * t) / busy) / 10;
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return {
    busyMs: Math.round(busy / 1000),
    byPhase: sorted(phases).map(([phase, t]) => ({ phase, share: share(t) })),
    byOwner: sorted(owners).slice(0, top).map(([owner, t]) => ({ owner, share: share(t) })),
    topFunctions: sorted(functions).slice(0, top).map(([fn, t]) => ({ fn, share: share(t) })),
  };
}
