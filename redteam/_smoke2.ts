import { Deployment } from './deployment.ts';
import { ATTACKS } from './attacks/index.ts';
const d = new Deployment({ store: 'sqlite', log: console.log });
try {
  await d.start();
  for (const a of ATTACKS.filter(a => process.argv.slice(2).includes(a.family))) for (const f of await a.run(d)) console.log(f.held ? 'held     ' : 'SUCCEEDED', f.id, '|', f.detail);
} finally { await d.close(); }
