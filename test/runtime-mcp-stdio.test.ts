import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as LegacyStdioTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const params = {
  command: process.execPath,
  args: ['--import', 'tsx', path.join(root, 'test/fixtures/runtime/stdio-server.ts')],
  cwd: root,
  stderr: 'pipe' as const,
};

describe('stdio', () => {
  it('serves the 2026-07-28 era to the 2.x client', async () => {
    const client = new Client({ name: 'stdio-modern', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
    await client.connect(new StdioClientTransport(params));
    try {
      expect(client.getProtocolEra()).toBe('modern');
      const page = await client.request({ method: 'tools/list', params: {} });
      expect(page.tools.map((t) => t.name)).toEqual(['halopsa_get_ticket', 'halopsa_list_clients']);
      expect(page.nextCursor).toBeTypeOf('string');
      expect((await client.listTools()).tools).toHaveLength(6);
      const result = await client.callTool({ name: 'hudu_list_companies', arguments: { name: 'Acme' } });
      expect(result.structuredContent).toMatchObject({ tool: 'hudu_list_companies', args: { name: 'Acme' } });
      await expect(client.callTool({ name: 'nope', arguments: {} })).rejects.toMatchObject({ code: -32602 });
    } finally {
      await client.close();
    }
  });

  it('serves the 2025 era to the 1.x client, stdout carrying protocol frames only', async () => {
    const transport = new LegacyStdioTransport(params);
    const client = new LegacyClient({ name: 'stdio-legacy', version: '1.0.0' });
    let stderr = '';
    transport.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    await client.connect(transport);
    try {
      expect(client.getServerVersion()?.name).toBe('specgate');
      const first = await client.listTools({});
      expect(first.tools).toHaveLength(2);
      const second = await client.listTools({ cursor: first.nextCursor });
      expect(second.tools.map((t) => t.name)).toEqual(['halopsa_list_tickets', 'hudu_get_article']);
      const failed = await client.callTool({ name: 'hudu_get_article', arguments: { id: 1 } });
      expect(failed.isError).toBe(true);
      // The failure is logged, on stderr (a log line on stdout would have broken the JSON-RPC framing).
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(stderr).toContain('tool call failed');
    } finally {
      await client.close();
    }
  });
});
