/**
 * A mistyped store: `--store` naming a SQLite file that does not exist must be an error, not a
 * fresh empty database that lists no tenants and exits 0 (an operator would think the data gone,
 * or a server would run with no keys, quotas or audit history).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Deployment } from '../deployment.ts';
import { OWASP, probe, type Attack, type Finding } from '../types.ts';

export const storePath: Attack = {
  family: 'store-path',
  stores: ['sqlite'],
  async run(d: Deployment): Promise<Finding[]> {
    return [await probe('store-path.missing-sqlite-file', OWASP.API8, '`specgate tenant list --store` naming a SQLite file that does not exist (a typo)', async () => {
      const missing = path.join(d.dir, 'typo', 'no-such-store.db');
      const r = await d.cli(['tenant', 'list', '--store', `sqlite:${missing}`]);
      const problems: string[] = [];
      if (r.code === 0) problems.push(`exit 0 (${r.stdout.trim().slice(0, 80) || 'no output'})`);
      if (fs.existsSync(missing)) problems.push('an empty database was created');
      return { problems, held: `exit ${r.code}: ${r.stderr.trim().split('\n')[0]?.slice(0, 140)}` };
    })];
  },
};
