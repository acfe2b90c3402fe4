/**
 * `specgate init`: a first spec for a document, which `check` and `generate` accept unchanged.
 * With allReads it picks every read in bulk; otherwise it lists each read operation as a tool
 * entry, for the author to prune and rename.
 */
import path from 'node:path';
import { Document, isMap } from 'yaml';
import type { LoadedDocument } from './openapi/types.ts';
import { READ_METHODS } from './select.ts';
import { assignToolNames } from './naming.ts';
import { postReadsBlock } from './post-reads.ts';
import { openapiDir, projectRoot } from './paths.ts';

export interface ScaffoldOptions {
  /** Where the spec will be written (to make paths relative to it). */
  specFile: string;
  /** The document source as the user gave it (path or URL). */
  source: string;
  allReads: boolean;
  connector?: string;
}

export function connectorNameFor(doc: LoadedDocument, source: string): string {
  const base = /^https?:/i.test(source) ? String(doc.document.info?.title ?? 'api') : path.basename(source).replace(/\.(json|ya?ml)$/i, '');
  const name = base.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^[^a-z]+|_+$/g, '').slice(0, 32).replace(/_+$/, '');
  return name || 'api';
}

export function scaffoldSpec(doc: LoadedDocument, options: ScaffoldOptions): string {
  const reads = doc.operations.filter((o) => READ_METHODS.has(o.method));
  const postReads = reads.length === 0 ? postReadsBlock(doc, options.connector ?? connectorNameFor(doc, options.source)) : undefined;
  if (postReads && postReads.posts === 0) throw new Error(`${options.source} has no read operation (GET or HEAD, or a POST that may read): nothing to serve read-only`);
  const connector = options.connector ?? connectorNameFor(doc, options.source);
  const specDir = path.dirname(path.resolve(options.specFile));
  const source = documentSource(options.source, specDir);

  const data: Record<string, unknown> = {
    specgate: 1,
    connector,
    title: String(doc.document.info?.title ?? connector),
    document: { source, sha256: doc.sha256 },
  };
  if (postReads) {
    // Nothing is selected until the author vouches for a POST: the block below says how.
  } else if (options.allReads) {
    data.select = [{ methods: ['GET', 'HEAD'] }];
  } else {
    const names = assignToolNames(connector, reads);
    data.tools = reads.map((o) => ({ operation: `${o.method} ${o.path}`, name: names.get(`${o.method} ${o.path}`) }));
  }
  const yamlDoc = new Document(data);
  const schema = path.relative(specDir, path.join(projectRoot, 'generator', 'spec', 'spec.schema.json')).split(path.sep).join('/');
  yamlDoc.commentBefore = ` yaml-language-server: $schema=${schema}\n Connector spec scaffolded by \`specgate init\` from ${doc.document.info?.title ?? source} ${doc.document.info?.version ?? ''}.\n Reference: docs/spec-reference.md, "Connector specs".`;
  if (!options.allReads && isMap(yamlDoc.contents)) {
    const tools = yamlDoc.contents.get('tools', true);
    if (tools && typeof tools === 'object') {
      (tools as { commentBefore?: string }).commentBefore = ' One entry per read operation: delete what a technician does not need, then rename and describe the rest.';
    }
  }
  return `${yamlDoc.toString({ lineWidth: 0 })}${postReads ? `\n${postReads.text}` : ''}`;
}

/**
 * How the spec names its document: a URL as given; a file inside the OpenAPI folder through
 * ${SPECGATE_OPENAPI_DIR}, so the spec works wherever the documents are kept; any other file
 * relative to the spec.
 */
function documentSource(given: string, specDir: string): string {
  if (/^https?:/i.test(given)) return given;
  const file = path.resolve(given);
  const inOpenapi = path.relative(openapiDir(), file);
  if (inOpenapi && inOpenapi.split(path.sep)[0] !== '..' && !path.isAbsolute(inOpenapi)) {
    return `\${SPECGATE_OPENAPI_DIR}/${inOpenapi.split(path.sep).join('/')}`;
  }
  return path.relative(specDir, file).split(path.sep).join('/');
}
