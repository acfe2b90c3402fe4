/**
 * Spec file -> ConnectorSpec, or diagnostics that say what is wrong and exactly where.
 *
 * YAML is parsed into a document tree (not straight to data) so every node keeps its source
 * offset; ajv validates the plain data against spec.schema.json, and each ajv error is mapped back
 * to the node it is about and reworded for a connector author.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isScalar, visit, type Document } from 'yaml';
import { parseYaml, yamlErrorLine, type JsonPath } from '../../runtime/config-load/yaml.ts';
import { explainSchemaErrors, type Vocabulary } from '../../runtime/config-load/ajv-messages.ts';
import { sortDiagnostics } from './diagnostics.ts';
import { specSchema, specValidator } from './validator.ts';
import type { ConnectorSpec, Diagnostic, LoadedSpec, SourcePosition } from './types.ts';

export const SCHEMA_ID = 'https://specgate.dev/schema/spec-v1.json';
export { SCHEMA_FILE, specSchema, specValidator } from './validator.ts';

/** The first line of a scaffolded spec: makes the YAML language server offer the schema. */
export function SCHEMA_COMMENT(relPathToSchema: string): string {
  return `# yaml-language-server: $schema=${relPathToSchema.split(path.sep).join('/')}`;
}


export async function loadSpec(file: string): Promise<{ loaded?: LoadedSpec; diagnostics: Diagnostic[] }> {
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'the file does not exist' : (e as Error).message;
    return { diagnostics: [{ file, line: 1, column: 1, severity: 'error', code: 'spec/read', message: `cannot read the spec: ${reason}` }] };
  }
  return parseSpec(file, text);
}

export function parseSpec(file: string, text: string): { loaded?: LoadedSpec; diagnostics: Diagnostic[] } {
  const yaml = parseYaml(file, text, { prettyErrors: true, merge: true });
  const { doc, at } = yaml;
  const diagnostics: Diagnostic[] = [];

  for (const [severity, list] of [['error', doc.errors], ['warning', doc.warnings]] as const) {
    for (const e of list) {
      if (e.code === 'DUPLICATE_KEY') {
        diagnostics.push({ ...at(e.pos[0]), severity, code: 'spec/duplicate-key', ...duplicateKey(doc, e.pos[0], at) });
      } else {
        diagnostics.push({ ...at(e.pos[0]), severity, code: 'spec/yaml', message: yamlErrorLine(e.message), hint: YAML_HINTS[e.code] });
      }
    }
  }
  visit(doc, {
    Alias(_, alias) {
      if (!alias.resolve(doc)) {
        diagnostics.push({
          ...at(alias.range?.[0] ?? 0), severity: 'error', code: 'spec/yaml', message: `unknown alias *${alias.source}`,
          hint: `define the anchor &${alias.source} before this alias`,
        });
      }
    },
  });
  if (diagnostics.some((d) => d.severity === 'error')) return { diagnostics: sortDiagnostics(diagnostics) };

  const empty = doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null);
  if (empty) {
    diagnostics.push({
      file, line: 1, column: 1, severity: 'error', code: 'spec/empty', message: 'the spec is empty', hint: ROOT_HINT,
    });
    return { diagnostics };
  }

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    diagnostics.push({ ...at(0), severity: 'error', code: 'spec/yaml', message: (e as Error).message });
    return { diagnostics };
  }

  // A digest of decimal digits (with at most an "e") reads as a number in YAML; the author meant the text.
  const sha = doc.getIn(['document', 'sha256'], true);
  if (isScalar(sha) && typeof sha.value === 'number' && sha.type === 'PLAIN' && sha.source && isObject(data) && isObject(data.document)) {
    data.document.sha256 = sha.source;
  }

  const positionOf = (p: JsonPath): SourcePosition => yaml.positionOf(p);
  const validate = specValidator();
  if (!validate(data)) {
    for (const issue of explainSchemaErrors(validate.errors ?? [], data, words())) {
      diagnostics.push({
        ...yaml.positionOf(issue.path, issue.at),
        severity: 'error', code: 'spec/schema', message: issue.message, hint: issue.hint,
      });
    }
    return { diagnostics: sortDiagnostics(dedupe(diagnostics)) };
  }
  return { loaded: { file, spec: data as ConnectorSpec, positionOf }, diagnostics };
}

// ---------------------------------------------------------------------------------------------
// The spec's own words for its schema errors (runtime/config-load/ajv-messages.ts does the rest)

/** The spec's patterns, explained in words; keyed by the pattern text in spec.schema.json. */
const PATTERNS: Vocabulary['patterns'] = {
  '^[a-z][a-z0-9_]{0,31}$': {
    what: 'a valid connector name',
    hint: (v) => {
      const fixed = v.toLowerCase().replace(/[^a-z0-9_]+/g, '_').replace(/^[^a-z]+/, '').slice(0, 32);
      return `a connector name is a lower-case letter followed by at most 31 lower-case letters, digits or underscores${fixed ? `, e.g. "${fixed}"` : ''}`;
    },
  },
  '^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS|TRACE) /\\S*$': {
    what: 'a valid operation',
    hint: (v) => {
      const m = /^\s*([A-Za-z]+)\s+(\/\S*)\s*$/.exec(v);
      if (m && METHODS.includes(m[1].toUpperCase()) && m[1] !== m[1].toUpperCase()) return `write the method in upper case: "${m[1].toUpperCase()} ${m[2]}"`;
      if (m && !METHODS.includes(m[1].toUpperCase())) return `"${m[1]}" is not an HTTP method; use one of ${METHODS.join(', ')}, e.g. "GET ${m[2]}"`;
      return 'an operation is an upper-case HTTP method, one space, then the path as in the document, e.g. "GET /tickets/{id}"';
    },
  },
  '^[a-f0-9]{64}$': {
    what: 'a valid sha256',
    hint: (v) =>
      /^[A-Fa-f0-9]{64}$/.test(v)
        ? 'write the hex digits in lower case'
        : `a sha256 is 64 lower-case hex digits (this has ${v.length} characters); \`specgate pin\` records it`,
  },
  '^https?://\\S+$': {
    what: 'a valid server URL',
    hint: () => 'a server is an http:// or https:// base URL without spaces, e.g. "https://api.example.com/v1"',
  },
};

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE'];

const ROOT_HINT = 'a connector spec is a mapping with at least `specgate: 1`, `connector: <name>` and `document: { source: ... }`';

function words(): Vocabulary {
  return {
    subject: 'the spec',
    rootHint: ROOT_HINT,
    schema: specSchema(),
    patterns: PATTERNS,
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const YAML_HINTS: Record<string, string> = {
  BLOCK_AS_IMPLICIT_KEY: 'a value containing ": " must be quoted, and a nested mapping goes on its own indented lines',
  MULTILINE_IMPLICIT_KEY: 'check the indentation: a nested key must be indented under its parent key, which ends with ":"',
  TAB_AS_INDENT: 'indent with spaces, not tabs',
  BAD_INDENT: 'check the indentation and that every [ or { is closed',
  MISSING_CHAR: 'a quote, ] or } is not closed',
  MULTIPLE_DOCS: 'a spec file holds one YAML document: remove the extra `---`',
};

/** Names the repeated key and where it first appeared, which yaml's own message leaves out. */
function duplicateKey(doc: Document, offset: number, at: (o: number) => SourcePosition): { message: string; hint: string } {
  let found: { message: string; hint: string } | undefined;
  visit(doc, {
    Map(_, map) {
      const dup = map.items.find((p) => isScalar(p.key) && p.key.range?.[0] === offset);
      if (!dup || !isScalar(dup.key)) return;
      const name = String(dup.key.value);
      const first = map.items.find((p) => isScalar(p.key) && String(p.key.value) === name);
      const line = first && isScalar(first.key) ? at(first.key.range?.[0] ?? 0).line : undefined;
      found = {
        message: `duplicate key "${name}"${line ? ` (first written at line ${line})` : ''}`,
        hint: 'a key may appear only once in a mapping: merge the two entries or remove one',
      };
      return visit.BREAK;
    },
  });
  return found ?? { message: 'duplicate key', hint: 'a key may appear only once in a mapping: merge the two entries or remove one' };
}

function dedupe(list: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return list.filter((d) => {
    const k = `${d.line}:${d.column}:${d.message}`;
    return seen.has(k) ? false : (seen.add(k), true);
  });
}
