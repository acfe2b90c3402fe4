/** Records the document's sha256 in a spec, editing the YAML in place so comments survive. */
import fs from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { loadDocument } from './openapi/load.ts';

export async function pinSpec(file: string): Promise<{ changed: boolean; sha256: string }> {
  const text = fs.readFileSync(file, 'utf8');
  const doc = parseDocument(text);
  const source = doc.getIn(['document', 'source']);
  if (typeof source !== 'string') throw new Error(`${file}: document.source is missing`);
  const loaded = await loadDocument(source, { baseDir: path.dirname(path.resolve(file)) });
  if (doc.getIn(['document', 'sha256']) === loaded.sha256) return { changed: false, sha256: loaded.sha256 };
  doc.setIn(['document', 'sha256'], loaded.sha256);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, doc.toString({ lineWidth: 0 }));
  fs.renameSync(tmp, file);
  return { changed: true, sha256: loaded.sha256 };
}
