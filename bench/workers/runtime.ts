/**
 * The target under test: the specgate runtime (startRuntime + startHttp, as `specgate serve`
 * wires them) over a generated folder, with one connector pointed at the bench upstream. With a
 * store URL, the governance chain is on (the project's policies/, the store seeded by bench/seed.ts).
 * Logs are silenced, as for the baseline, so neither pays for log output.
 */
import path from 'node:path';
import pino from 'pino';
import { buildState } from '../../bin/build-state.js';
import { projectDir, report } from '../child.ts';
import { profileOnSignal } from './profiler.ts';

const [generatedDir, connector, baseUrl, storeUrl] = process.argv.slice(2);
if (!generatedDir || !connector || !baseUrl) throw new Error('usage: runtime.ts <generatedDir> <connector> <upstream base URL> [store URL]');

/**
 * The compiled runtime (dist/), as `specgate serve` runs it, when it is a build of the current
 * sources (bench/call-cost.ts builds it first); else the sources, through tsx.
 */
const compiled = buildState(projectDir) === 'fresh';
const load = <T>(module: string): Promise<T> => import(compiled ? path.join(projectDir, 'dist', `${module}.js`) : path.join(projectDir, `${module}.ts`)) as Promise<T>;
const { createPolicyEngine } = await load<typeof import('../../runtime/policy/decide.ts')>('runtime/policy/decide');
const { startHttp, startRuntime } = await load<typeof import('../../runtime/start.ts')>('runtime/start');
const { openStore } = await load<typeof import('../../runtime/store/index.ts')>('runtime/store/index');
const logger = pino({ level: 'silent' });
const governance = storeUrl
  ? { store: await openStore(storeUrl), policy: createPolicyEngine({ dir: path.join(projectDir, 'policies') }) }
  : undefined;
const runtime = await startRuntime({ generatedDir, mock: false, upstreams: { [connector]: { baseUrl } }, logger, ...(governance ? { governance } : {}) });
const app = await startHttp(runtime, { port: 0, host: '127.0.0.1', logger });
const address = app.server.address();
const port = typeof address === 'object' && address ? address.port : 0;
profileOnSignal(storeUrl ? `runtime-${storeUrl.split(':')[0]}${process.env.OTEL_EXPORTER_OTLP_ENDPOINT ? '-traced' : ''}` : 'runtime-ungoverned');
report({ url: `http://127.0.0.1:${port}/mcp`, tools: runtime.catalog().tools.length, compiled });
// The shutdown plugin closes the app on SIGTERM (once, however often asked); the store's pool
// would keep the process alive after that.
process.once('SIGTERM', () => void app.shutdown().then(() => governance?.store.close()));
