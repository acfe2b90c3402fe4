/**
 * The target under test: the specgate runtime (startRuntime + startHttp, as `specgate serve`
 * wires them) over a generated folder, with one connector pointed at the bench upstream. Logs are
 * silenced, as for the baseline, so neither pays for log output.
 */
import pino from 'pino';
import { startHttp, startRuntime } from '../../runtime/start.ts';
import { report } from '../child.ts';

const [generatedDir, connector, baseUrl] = process.argv.slice(2);
if (!generatedDir || !connector || !baseUrl) throw new Error('usage: runtime.ts <generatedDir> <connector> <upstream base URL>');

const logger = pino({ level: 'silent' });
const runtime = await startRuntime({ generatedDir, mock: false, upstreams: { [connector]: { baseUrl } }, logger });
const app = await startHttp(runtime, { port: 0, host: '127.0.0.1', logger });
const address = app.server.address();
const port = typeof address === 'object' && address ? address.port : 0;
report({ url: `http://127.0.0.1:${port}/mcp`, tools: runtime.catalog().tools.length });
