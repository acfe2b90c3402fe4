/**
 * The shared loader (runtime/config-load/): one YAML reader with positions and one ajv message
 * module serve connector specs, the runtime configuration and policies. Also the boundaries the
 * split promises: the runtime imports nothing from generator/, and no code writes process.env.
 */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { parseYaml, yamlErrorLine } from '../runtime/config-load/yaml.ts';
import { ARGUMENTS, RESULT, briefMessage, dataPath, pointerPath, settingMessage, settingPath, settingTarget, valueMessages } from '../runtime/config-load/ajv-messages.ts';
import { readYamlSource } from '../runtime/config-load/yaml-source.ts';

const root = path.resolve(import.meta.dirname, '..');
const text = [
  'name: demo',               // 1
  'list:',                    // 2
  '  - a',                    // 3
  '  - { k: v }',             // 4
  'nested:',                  // 5
  '  inner: 3',               // 6
  'empty:',                   // 7
  'base: &b { x: 1 }',        // 8
  'copy: *b',                 // 9
  'cond: |',                  // 10
  '  a &&',                   // 11
  '  bb',                     // 12
  'quoted: "abc"',            // 13
  '',
].join('\n');
const pos = (p: Array<string | number>, aim?: 'value' | 'key' | 'node', inner?: number) => {
  const { line, column } = parseYaml('f.yaml', text).positionOf(p, aim, inner);
  return [line, column];
};

describe('positions', () => {
  it('a scalar at its value, a collection or empty value at its key, unless the node itself is asked for', () => {
    expect(pos(['name'])).toEqual([1, 7]);
    expect(pos(['name'], 'key')).toEqual([1, 1]);
    expect(pos(['nested'])).toEqual([5, 1]);
    expect(pos(['nested'], 'node')).toEqual([6, 3]);
    expect(pos(['list', 1])).toEqual([4, 5]);
    expect(pos(['list', 1, 'k'])).toEqual([4, 10]);
    expect(pos(['empty'])).toEqual([7, 1]);
  });
  it('a path that does not exist lands on its nearest existing parent; through aliases too', () => {
    expect(pos(['nested', 'missing', 'deeper'])).toEqual([5, 1]);
    expect(pos(['list', 99])).toEqual([2, 1]);
    expect(pos(['list', 'x'])).toEqual([2, 1]);
    expect(pos(['copy', 'x'])).toEqual([8, 15]);
    expect(pos([])).toEqual([1, 1]);
  });
  it('a character inside a literal block or a quoted string', () => {
    expect(pos(['cond'], 'node', 'a &&\n'.length + 1)).toEqual([12, 4]);
    expect(pos(['quoted'], 'node', 2)).toEqual([13, 12]);
    // Past the end of the string: clamped to the scalar, never beyond the file.
    expect(pos(['quoted'], 'node', 1000)[0]).toBe(13);
  });
  it('yaml messages lose the position and excerpt that the caller prints itself', () => {
    const bad = parseYaml('b.yaml', 'a: [1, 2\n', { prettyErrors: true });
    expect(bad.doc.errors.length).toBeGreaterThan(0);
    const line = yamlErrorLine(bad.doc.errors[0].message);
    expect(line).not.toMatch(/line \d+, column \d+|\n|:$/);
  });
  it('a duplicate key is an error, not a silent overwrite', () => {
    expect(parseYaml('d.yaml', 'a: 1\na: 2\n').doc.errors.map((e) => e.code)).toEqual(['DUPLICATE_KEY']);
  });
});

describe('ajv messages', () => {
  const ajv = new Ajv({ allErrors: true, strict: false, discriminator: true });
  const schema = {
    type: 'object', additionalProperties: false,
    properties: {
      'a/b~c': { type: 'object', required: ['need'], properties: { need: { type: 'string' } } },
      mode: { enum: ['x', 'y'] },
      items: { type: 'array', items: { type: 'integer' } },
    },
  };
  const validate = ajv.compile(schema);
  validate({ 'a/b~c': {}, mode: 'z', items: [1, 'two'], extra: 1 });
  const errors = validate.errors!;
  const by = (k: string) => errors.find((e) => e.keyword === k)!;

  it('pointers are unescaped (~1 is /, ~0 is ~), and array indexes become numbers against the data', () => {
    expect(pointerPath('/a~1b~0c/need')).toEqual(['a/b~c', 'need']);
    expect(pointerPath('')).toEqual([]);
    expect(dataPath('/items/1', { items: [1, 'two'] })).toEqual(['items', 1]);
  });
  it('the operator wording names the setting and points an unknown key at the key', () => {
    expect(settingPath(by('additionalProperties'))).toEqual(['extra']);
    expect(settingMessage(by('additionalProperties'), [])).toBe('is not a known setting');
    expect(settingTarget(by('additionalProperties'), ['extra'])).toEqual({ path: ['extra'], aim: 'key' });
    expect(settingPath(by('required'))).toEqual(['a/b~c']);
    expect(settingMessage(by('required'), [])).toBe('needs need');
    expect(settingMessage(by('enum'), [])).toBe('must be one of "x", "y"');
  });
  it('the policy wording is a dotted path and what is wrong', () => {
    expect(briefMessage(by('additionalProperties'))).toBe('the file: unknown key "extra"');
    expect(briefMessage(by('enum'))).toBe('mode: must be one of x, y');
    expect(briefMessage(errors.find((e) => e.instancePath === '/items/1')!)).toBe('items.1 must be integer');
  });
  it('the tool-call wording names the argument (nested, escaped) and the rule; a result is located by pointer', () => {
    const tool = new Ajv({ allErrors: true, strict: false }).compile({
      type: 'object', additionalProperties: false, required: ['status'],
      properties: {
        status: { enum: ['open', 'closed'] },
        'a/b~c': { type: 'array', maxItems: 1, items: { type: 'object', required: ['name'], properties: { name: { type: 'string', pattern: '^[a-z]+$' } } } },
      },
    });
    tool({ 'a/b~c': [{ name: 'X1' }, {}], extra: 1 });
    expect(valueMessages(tool.errors!, ARGUMENTS)).toBe([
      'missing required argument "status"', 'unknown argument "extra"', '"a/b~c" must have at most 1 items (maxItems)',
      '"a/b~c[0].name" must match ^[a-z]+$ (pattern)', 'missing required property "name" in "a/b~c[1]"',
    ].join('; '));
    tool('nope');
    expect(valueMessages(tool.errors!, ARGUMENTS)).toBe('arguments must be object (type)');
    expect(valueMessages(tool.errors!, RESULT)).toBe('/ must be object');
    tool({ status: 'pending', 'a/b~c': [{ name: 3 }] });
    expect(valueMessages(tool.errors!, RESULT)).toBe('/status must be one of "open", "closed"; /a~1b~0c/0/name must be string');
    // The same complaint twice (ajv repeats one per failing branch) is said once.
    expect(valueMessages([...tool.errors!, ...tool.errors!], ARGUMENTS)).toBe('"status" must be one of "open", "closed" (enum); "a/b~c[0].name" must be string (type)');
  });
  it('a schema-checked file: data when valid, positioned diagnostics with the code family otherwise', () => {
    const ok = readYamlSource<{ mode: string }>('p.yaml', 'mode: x\n', schema, 'fam');
    expect(ok).toMatchObject({ data: { mode: 'x' }, diagnostics: [] });
    const bad = readYamlSource('p.yaml', 'mode: z\nitems: [1, two]\n', schema, 'fam');
    expect(bad.data).toBeUndefined();
    expect(bad.diagnostics.map((d) => [d.line, d.column, d.code])).toEqual([[1, 7, 'fam/schema'], [2, 12, 'fam/schema']]);
    const broken = readYamlSource('p.yaml', 'mode: [x\n', schema, 'fam');
    expect(broken.diagnostics[0]).toMatchObject({ file: 'p.yaml', code: 'fam/yaml' });
    // An alias bomb is refused, not expanded.
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}]`)].join('\n');
    expect(readYamlSource('bomb.yaml', bomb, { type: 'object' }, 'fam').diagnostics[0]).toMatchObject({ code: 'fam/yaml', message: expect.stringMatching(/alias/i) });
  });
});

describe('boundaries', () => {
  const sources = (dir: string): string[] => fs.readdirSync(path.join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|js)$/.test(e.name) && !e.name.endsWith('.generated.ts'))
    .map((e) => path.join(e.parentPath, e.name));

  it('the runtime imports nothing from generator/ (runtime/model.ts is the contract)', () => {
    const offenders = sources('runtime').filter((f) => /from\s+['"][./]*\/generator\//.test(fs.readFileSync(f, 'utf8')));
    expect(offenders.map((f) => path.relative(root, f))).toEqual([]);
  });
  it('no code of generator/, runtime/ or cli/ writes process.env', () => {
    const write = /process\.env(\.[A-Za-z_$][\w$]*|\[[^\]]+\])\s*(=(?!=)|\?\?=|\|\|=|&&=)|delete\s+process\.env|Object\.assign\(\s*process\.env/;
    const offenders = ['generator', 'runtime', 'cli'].flatMap(sources).filter((f) => write.test(fs.readFileSync(f, 'utf8')));
    expect(offenders.map((f) => path.relative(root, f))).toEqual([]);
  });
});
