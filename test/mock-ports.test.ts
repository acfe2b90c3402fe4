/**
 * Mock upstreams on ports the operator chooses (`serve --mock --mock-port <connector=port>`), so
 * a browser or another tool can be pointed at them; a port in use or an unknown connector is a
 * clear error at startup, and nothing started is left listening.
 */
import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import pino from 'pino';
import { startRuntime, type Runtime } from '../runtime/start.ts';
import { parseMockPorts } from '../cli/commands/serve.ts';

const generatedDir = path.resolve(import.meta.dirname, '..', 'generated');
const logger = pino({ level: 'silent' });
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

/** A port that was free a moment ago (the OS hands out another next time). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

describe('mock upstream ports', () => {
  it('puts a connector\'s mock on the given port and leaves the others on free ones', async () => {
    const port = await freePort();
    const runtime: Runtime = await startRuntime({ generatedDir, mock: true, mockPorts: { pax8: port }, logger });
    cleanup.push(() => runtime.close());
    const upstreams = runtime.upstreams();
    expect(upstreams.pax8!.mock).toBe(true);
    expect(new URL(upstreams.pax8!.url).port).toBe(String(port));
    expect(new URL(upstreams.hudu!.url).port).not.toBe(String(port));
    // The mock answers there.
    const res = await fetch(`${upstreams.pax8!.url}/nowhere-at-all`);
    expect(res.status).toBe(404);
    await runtime.close();
    cleanup.pop();
    expect(await listening(port)).toBe(false);
  });

  it('refuses a port in use, naming the connector and the port, and leaves nothing listening', async () => {
    const busy = http.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    cleanup.push(() => new Promise<void>((r) => busy.close(() => r())));
    const port = (busy.address() as AddressInfo).port;
    const other = await freePort();
    await expect(startRuntime({ generatedDir, mock: true, mockPorts: { hudu: other, pax8: port }, logger }))
      .rejects.toThrow(`the mock upstream of pax8 cannot listen on port ${port}: the port is in use; choose another with --mock-port pax8=<port>`);
    expect(await listening(other)).toBe(false);
  });

  it('refuses a connector the catalog does not have', async () => {
    await expect(startRuntime({ generatedDir, mock: true, mockPorts: { paxx8: 9 }, logger }))
      .rejects.toThrow(/^--mock-port paxx8=9: there is no connector "paxx8" \(connectors: [a-z0-9_, ]*\bpax8\b[a-z0-9_, ]*\)$/);
  });

  it('parses connector=port and names what is wrong', () => {
    expect(parseMockPorts(undefined)).toBeUndefined();
    expect(parseMockPorts(['halopsa=9101', 'pax8=9102'])).toEqual({ halopsa: 9101, pax8: 9102 });
    for (const bad of ['halopsa', 'halopsa=', 'halopsa=0', 'halopsa=65536', 'halopsa=9101x', 'HaloPSA=9101', '=9101']) {
      expect(() => parseMockPorts([bad])).toThrow(`--mock-port ${bad}: expected <connector>=<port from 1 to 65535>, e.g. halopsa=9101`);
    }
    expect(() => parseMockPorts(['halopsa=9101', 'pax8=9101'])).toThrow('--mock-port pax8=9101: port 9101 is already given to another connector');
  });
});
