/**
 * A YAML file read against a JSON Schema, for files whose mistakes are reported as diagnostics
 * with a code family (policies: `policy/yaml`, `policy/schema`; their tests: `policy-test/...`).
 */
import { Ajv, type SchemaObject } from 'ajv';
import type { Diagnostic, SourcePosition } from './diagnostics.ts';
import { parseYaml, yamlErrorLine, type JsonPath } from './yaml.ts';
import { briefMessage, pointerPath } from './ajv-messages.ts';

export type { JsonPath };

export interface YamlSource<T> {
  file: string;
  data?: T;
  diagnostics: Diagnostic[];
  /** Position of the node at a path; with `inner`, of that character offset inside a string scalar. */
  positionOf(path: JsonPath, inner?: number): SourcePosition;
}

const ajv = new Ajv({ allErrors: true, strict: false });
const validators = new Map<SchemaObject, ReturnType<typeof ajv.compile>>();

export function readYamlSource<T>(file: string, text: string, schema: SchemaObject, code: string): YamlSource<T> {
  const yaml = parseYaml(file, text);
  const positionOf = (p: JsonPath, inner?: number): SourcePosition => yaml.positionOf(p, 'node', inner);
  const diagnostics: Diagnostic[] = [];
  for (const e of yaml.doc.errors) {
    diagnostics.push({ ...yaml.at(e.pos[0]), severity: 'error', code: `${code}/yaml`, message: yamlErrorLine(e.message) });
  }
  if (diagnostics.length) return { file, diagnostics, positionOf };
  let data: unknown;
  try {
    data = yaml.doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    return { file, diagnostics: [{ ...yaml.at(0), severity: 'error', code: `${code}/yaml`, message: (e as Error).message }], positionOf };
  }
  let validate = validators.get(schema);
  if (!validate) validators.set(schema, (validate = ajv.compile(schema)));
  if (!validate(data)) {
    for (const err of validate.errors ?? []) {
      diagnostics.push({ ...positionOf(pointerPath(err.instancePath)), severity: 'error', code: `${code}/schema`, message: briefMessage(err) });
    }
    return { file, diagnostics, positionOf };
  }
  return { file, data: data as T, diagnostics, positionOf };
}
