/**
 * kill -9 under load: a bounded burst of calls from concurrent clients, SIGKILL of the server in
 * the middle of it, a restart on the same store. Holds when every call that got an answer has
 * exactly one audit record and exactly one usage row, and the restarted server serves.
 */
import type { Deployment } from '../deployment.ts';
import { OWASP, probe, type Attack, type Finding } from '../types.ts';
import { message, refused } from './observe.ts';

const CLIENTS = 8;
const MAX_ATTEMPTS = 400;
const KILL_AFTER = 80;

export const crash: Attack = {
  family: 'crash',
  async run(d: Deployment): Promise<Finding[]> {
    return [await probe('crash.sigkill-under-load', OWASP.API8, `SIGKILL of the server after ${KILL_AFTER} answered calls of a burst from ${CLIENTS} clients, restart on the same store`, async () => {
      const answered: string[] = [];
      let attempts = 0;
      let cutOff = 0;
      let killed: Promise<unknown> | undefined;
      const client = async () => {
        while (attempts < MAX_ATTEMPTS && !killed) {
          attempts++;
          try {
            const a = await d.call('aTech', 'hudu_get_company', {}, { customer: 'rt-contoso' });
            if (a.requestId && a.json?.result) answered.push(a.requestId);
          } catch {
            cutOff++;
          }
          if (answered.length >= KILL_AFTER && !killed) killed = d.killServer();
        }
      };
      await Promise.all(Array.from({ length: CLIENTS }, client));
      const exit = await killed;
      await d.closeReader();
      await d.startServer();
      const after = await d.call('aTech', 'hudu_get_company', {}, { customer: 'rt-contoso' });
      const audit = new Map<string, number>();
      for (const r of await d.audit()) audit.set(String(r.record.callId), (audit.get(String(r.record.callId)) ?? 0) + 1);
      const usage = new Map<string, number>();
      for (const u of await d.usage()) usage.set(u.callId, (usage.get(u.callId) ?? 0) + 1);
      const problems: string[] = [];
      if (!killed) problems.push(`only ${answered.length} calls answered: the server was never killed`);
      if ((exit as { signal?: string } | undefined)?.signal !== 'SIGKILL') problems.push(`the server exited with ${JSON.stringify(exit)}, not SIGKILL`);
      const noAudit = answered.filter((id) => audit.get(id) !== 1);
      const noUsage = answered.filter((id) => usage.get(id) !== 1);
      if (noAudit.length) problems.push(`${noAudit.length} answered calls without exactly one audit record (e.g. ${noAudit[0]}: ${audit.get(noAudit[0]) ?? 0})`);
      if (noUsage.length) problems.push(`${noUsage.length} answered calls without exactly one usage row (e.g. ${noUsage[0]}: ${usage.get(noUsage[0]) ?? 0})`);
      if (refused(after)) problems.push(`the restarted server did not serve: ${message(after)}`);
      return { problems, held: `${answered.length} answered (${cutOff} cut off), each with one audit record and one usage row; restarted server serves` };
    })];
  },
};
