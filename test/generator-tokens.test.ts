import { countTokens } from 'gpt-tokenizer';
import { describe, expect, it } from 'vitest';
import { definitionTokens, jsonTokens } from '../generator/tokens.ts';

describe('jsonTokens', () => {
  it('counts exactly what countTokens counts, whatever precedes a quote', () => {
    const samples = [
      { a: 'é"x', 'naïve': 'café', ß1: "x's", y: "don't", z: 'A1"B2"c3' },
      { k: '日本語"語', m: 'e\u0301"', n: '😀"😀x', p: '<|endoftext|>'.replace(/[<>|]/g, '') },
      { text: 'x y  z\n\n q', list: [1, 22, 333, 4444, -5.5e10], nested: { '"quoted"': [{ deep: 'ABCdef"GHI' }] } },
    ];
    for (const sample of samples) {
      const json = JSON.stringify(sample);
      expect(jsonTokens(json)).toBe(countTokens(json));
      expect(jsonTokens(json)).toBe(countTokens(json)); // again, from the piece cache
    }
  });

  it('gives a tool definition the count of its JSON text', () => {
    const def = {
      name: 'github_repos_get', title: 'Get a repository', description: 'The repository, with its owner and license.',
      inputSchema: { type: 'object', properties: { owner: { type: 'string' }, repo: { type: 'string' } }, required: ['owner', 'repo'] },
      outputSchema: { type: 'object', properties: { result: { $ref: '#/$defs/repository' } }, $defs: { repository: { type: ['object', 'null'] } } },
    };
    expect(definitionTokens(def)).toBe(countTokens(JSON.stringify(def)));
  });
});
