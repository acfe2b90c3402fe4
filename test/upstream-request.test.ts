/**
 * Query serialisation as the vendor's document declares it: an array parameter with
 * `explode: false` reaches the vendor as one comma-separated value (Graph's `$select`), while
 * exploded arrays and other styles are left to the client's default (one pair per item).
 */
import { describe, expect, it } from 'vitest';
import { buildUpstreamRequest } from '../runtime/upstream/request.ts';
import type { ParameterBinding } from '../runtime/model.ts';
import { makeTool } from './fixtures/call/harness.ts';

function queryFor(binding: Partial<ParameterBinding>, value: unknown): unknown {
  const tool = makeTool({
    name: 'acme_list_users',
    operation: { method: 'GET', path: '/users', operationId: 'acme_list_users' },
    parameters: [{ name: '$select', in: 'query', argument: 'fields', required: false, ...binding }],
  });
  return buildUpstreamRequest(tool, { fields: value }, { requestId: 'r1', signal: new AbortController().signal }).request.query.$select;
}

describe('query arrays', () => {
  it('joins an explode: false form array with commas', () => {
    expect(queryFor({ explode: false }, ['id', 'displayName', 'mail'])).toBe('id,displayName,mail');
    expect(queryFor({ explode: false, style: 'form' }, ['id'])).toBe('id');
  });

  it('joins a fixed explode: false array the same way', () => {
    const tool = makeTool({
      name: 'acme_list_users',
      operation: { method: 'GET', path: '/users', operationId: 'acme_list_users' },
      parameters: [{ name: '$select', in: 'query', argument: null, required: false, fixed: ['id', 'mail'], explode: false }],
    });
    expect(buildUpstreamRequest(tool, {}, { requestId: 'r2', signal: new AbortController().signal }).request.query.$select).toBe('id,mail');
  });

  it('leaves exploded arrays, other styles and scalars as they are', () => {
    expect(queryFor({}, ['a', 'b'])).toEqual(['a', 'b']);
    expect(queryFor({ explode: true }, ['a', 'b'])).toEqual(['a', 'b']);
    expect(queryFor({ explode: false, style: 'pipeDelimited' }, ['a', 'b'])).toEqual(['a', 'b']);
    expect(queryFor({ explode: false }, 'id')).toBe('id');
  });
});
