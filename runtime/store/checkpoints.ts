/**
 * Signed checkpoints of the audit and usage chains. The chains alone are unkeyed: whoever can
 * write to the database can edit a record and recompute every later hash, or cut the tail. A
 * checkpoint is the head of each chain at one moment, signed with a key that is not in the
 * database (runtime/store/audit-keys.ts); a set checkpoint lists every chain at that moment, so a
 * whole chain deleted shows too. Verification walks the chains (the per-row checks) and then holds
 * them against the newest valid checkpoints, from the store and, when given, from an exported copy
 * kept elsewhere, which is the only way to notice that the newest checkpoints were deleted.
 */
import type { Kysely } from 'kysely';
import type { Store } from './db.ts';
import type { AuditCheckpointsTable, Schema } from './schema.ts';
import { canonicalJson } from './canonical.ts';
import { auditChains, walkAuditChain } from './repos/audit.ts';
import { usageChains, walkUsageChain } from './repos/usage.ts';
import type { AuditKeys, AuditSigner } from './audit-keys.ts';
import { uuidv7 } from '../ids.ts';

/** The heads of one tenant's audit chain and usage chain; seq 0 is an empty chain. */
export interface ChainHead { chain: string; seq: number; head: string | null; usageSeq: number; usageHead: string | null }

export interface ChainCheckpoint extends ChainHead { type: 'specgate.audit.chain'; id: string; at: string }
export interface SetCheckpoint {
  type: 'specgate.audit.set';
  id: string;
  at: string;
  /** Every chain at that moment, with the checkpoint that holds its heads. */
  chains: Array<{ chain: string; checkpoint: string; seq: number; usageSeq: number }>;
}
type Payload = ChainCheckpoint | SetCheckpoint;

/** One stored or exported checkpoint: the signed payload and its signature (one JSON line of an export). */
export interface SignedCheckpoint { id: string; kind: 'chain' | 'set'; chain: string | null; at: string; payload: string; keyId: string; signature: string }

export type IntegrityProblemKind = 'rewritten' | 'truncated' | 'deleted' | 'usage' | 'signature' | 'rollback';
export interface IntegrityProblem { kind: IntegrityProblemKind; chain: string | null; message: string }

export interface IntegrityReport {
  ok: boolean;
  chains: number;
  entries: number;
  usageRows: number;
  /** Checkpoints whose signature holds, from the store and the external copy together. */
  checkpoints: number;
  /** The newest valid set checkpoint's time, if any. */
  latestCheckpoint: string | null;
  /** Chains with entries that no valid checkpoint covers yet: their rows are checked by the hash chain only. */
  uncovered: string[];
  problems: IntegrityProblem[];
  /** Notes that are not failures (no checkpoint at all, no external copy). */
  warnings: string[];
}

function toSigned(row: AuditCheckpointsTable): SignedCheckpoint {
  return { id: row.id, kind: row.kind === 'set' ? 'set' : 'chain', chain: row.chain, at: row.at, payload: row.payload, keyId: row.key_id, signature: row.signature };
}

async function heads(db: Kysely<Schema>, chain: string): Promise<ChainHead> {
  const a = await db.selectFrom('audit').select(['seq', 'hash']).where('tenant_id', '=', chain).orderBy('seq', 'desc').limit(1).executeTakeFirst();
  const u = await db.selectFrom('usage').select(['seq', 'hash']).where('tenant_id', '=', chain).where('seq', 'is not', null)
    .orderBy('seq', 'desc').limit(1).executeTakeFirst();
  return { chain, seq: a?.seq ?? 0, head: a?.hash ?? null, usageSeq: u?.seq ?? 0, usageHead: u?.hash ?? null };
}

async function allChains(db: Kysely<Schema>): Promise<string[]> {
  return [...new Set([...await auditChains(db), ...await usageChains(db)])].sort();
}

/** Parses and checks a checkpoint's signature; the reason it is not valid, or its payload. */
function openCheckpoint(cp: SignedCheckpoint, keys: AuditKeys | undefined): { payload: Payload } | { problem: string } {
  const what = `checkpoint ${cp.id}${cp.chain ? ` of chain ${cp.chain}` : ''} (${cp.at})`;
  if (!keys) return { problem: `${what}: its signature cannot be checked: no audit key is configured` };
  if (!keys.ids.includes(cp.keyId)) return { problem: `${what} is signed with unknown key id "${cp.keyId}": forged, or signed with a key no longer configured` };
  if (!keys.verify(cp.keyId, cp.payload, cp.signature)) return { problem: `${what} has a bad signature: forged or edited` };
  let payload: Payload;
  try { payload = JSON.parse(cp.payload) as Payload; } catch { return { problem: `${what}: its signed payload is not JSON` }; }
  // The row's columns are only for lookup; what counts is what was signed.
  if (payload.id !== cp.id || payload.at !== cp.at || (payload.type === 'specgate.audit.chain' ? cp.kind !== 'chain' || payload.chain !== cp.chain : cp.kind !== 'set')) {
    return { problem: `${what}: its columns do not match its signed payload` };
  }
  return { payload };
}

export function checkpointsRepo(store: Store, now: () => Date = () => new Date()) {
  const { db } = store;

  async function stored(tenant?: string): Promise<SignedCheckpoint[]> {
    let q = db.selectFrom('audit_checkpoints').selectAll();
    if (tenant !== undefined) q = q.where((eb) => eb.or([eb('chain', '=', tenant), eb('kind', '=', 'set')]));
    return (await q.orderBy('at').orderBy('id').execute()).map(toSigned);
  }

  return {
    /**
     * Signs and stores a checkpoint of every chain whose heads moved since its newest checkpoint,
     * and a set checkpoint listing every chain. Writes nothing when nothing changed.
     */
    async write(keys: AuditKeys): Promise<{ written: boolean; set?: string; chains: number; changed: number }> {
      const signer = keys.signer;
      if (!signer) throw new Error(`audit keys from ${keys.source} are public keys only: writing a checkpoint needs the private key`);
      const at = now().toISOString();
      // Only the newest of each kind is read: the table grows with every round.
      const newest = async (kind: 'chain' | 'set', chain: string | null): Promise<Payload | undefined> => {
        let q = db.selectFrom('audit_checkpoints').selectAll().where('kind', '=', kind);
        q = chain === null ? q.where('chain', 'is', null) : q.where('chain', '=', chain);
        const row = await q.orderBy('at', 'desc').orderBy('id', 'desc').limit(1).executeTakeFirst();
        const opened = row && openCheckpoint(toSigned(row), keys);
        return opened && 'payload' in opened ? opened.payload : undefined;
      };
      const latestSet = await newest('set', null) as SetCheckpoint | undefined;
      const rows: SignedCheckpoint[] = [];
      const members: SetCheckpoint['chains'] = [];
      for (const chain of await allChains(db)) {
        const h = await heads(db, chain);
        const prev = await newest('chain', chain) as ChainCheckpoint | undefined;
        let id = prev?.id;
        if (!prev || prev.seq !== h.seq || prev.head !== h.head || prev.usageSeq !== h.usageSeq || prev.usageHead !== h.usageHead) {
          id = uuidv7();
          const payload: ChainCheckpoint = { type: 'specgate.audit.chain', id, at, ...h };
          rows.push(sign(payload, signer));
        }
        members.push({ chain, checkpoint: id!, seq: h.seq, usageSeq: h.usageSeq });
      }
      const sameSet = latestSet && canonicalJson(latestSet.chains) === canonicalJson(members);
      if (rows.length === 0 && sameSet) return { written: false, chains: members.length, changed: 0 };
      const set: SetCheckpoint = { type: 'specgate.audit.set', id: uuidv7(), at, chains: members };
      rows.push(sign(set, signer));
      await db.transaction().execute(async (trx) => {
        for (const r of rows) {
          await trx.insertInto('audit_checkpoints').values({ id: r.id, kind: r.kind, chain: r.chain, at: r.at, payload: r.payload, key_id: r.keyId, signature: r.signature }).execute();
        }
      });
      return { written: true, set: set.id, chains: members.length, changed: rows.length - 1 };
    },

    /** Every stored checkpoint, oldest first: the lines of `audit export-checkpoints`. */
    list: stored,

    /** Walks the chains and holds them against the newest valid checkpoints (see the module comment). */
    async verify(options: { keys?: AuditKeys; tenant?: string; external?: SignedCheckpoint[] } = {}): Promise<IntegrityReport> {
      const { keys, tenant, external } = options;
      const problems: IntegrityProblem[] = [];
      const warnings: string[] = [];
      const inStore = await stored(tenant);
      const storedIds = new Set(inStore.map((c) => c.id));
      const candidates = new Map(inStore.map((c) => [c.id, c]));
      const ext = (external ?? []).filter((c) => tenant === undefined || c.kind === 'set' || c.chain === tenant);
      // The exported copy wins over a stored row of the same id: the store is what is in question.
      for (const c of ext) candidates.set(c.id, c);

      const chainCps = new Map<string, ChainCheckpoint[]>();
      const sets: SetCheckpoint[] = [];
      if (!keys && candidates.size > 0) {
        problems.push({ kind: 'signature', chain: null, message: `${candidates.size} checkpoint(s) cannot be checked: no audit key is configured (set SPECGATE_AUDIT_KEYS or pass --public-keys)` });
      } else {
        for (const cp of candidates.values()) {
          const opened = openCheckpoint(cp, keys);
          if ('problem' in opened) { problems.push({ kind: 'signature', chain: cp.chain, message: opened.problem }); continue; }
          const p = opened.payload;
          if (p.type === 'specgate.audit.set') sets.push(p);
          else chainCps.set(p.chain, [...(chainCps.get(p.chain) ?? []), p]);
          if (external && !storedIds.has(cp.id)) {
            problems.push({ kind: 'rollback', chain: cp.chain, message: `checkpoint ${cp.id}${cp.chain ? ` of chain ${cp.chain}` : ''} (${cp.at}) in the exported copy was deleted from the store: the checkpoints were rolled back` });
          }
        }
      }
      const valid = [...chainCps.values()].reduce((n, l) => n + l.length, 0) + sets.length;
      sets.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.id < b.id ? -1 : 1));
      const latestSet = sets.at(-1);

      const present = tenant !== undefined ? [tenant] : await allChains(db);
      const chains = [...new Set([...present, ...(latestSet?.chains.map((c) => c.chain) ?? []).filter((c) => tenant === undefined || c === tenant)])].sort();
      let entries = 0;
      let usageRows = 0;
      const uncovered: string[] = [];
      for (const chain of chains) {
        const walked = await walkAuditChain(db, chain);
        entries += walked.checked;
        if (walked.problem) {
          const { seq, reason } = walked.problem;
          const kind = /missing/.test(reason) ? 'deleted' : 'rewritten';
          problems.push({ kind, chain, message: `chain ${chain}: entry ${seq} was ${kind}: ${reason}` });
        }
        const usage = await walkUsageChain(db, chain);
        usageRows += usage.checked;
        for (const message of usage.problems) problems.push({ kind: 'usage', chain, message: `chain ${chain}: ${message}` });

        const h = await heads(db, chain);
        const cps = chainCps.get(chain) ?? [];
        const member = latestSet?.chains.find((c) => c.chain === chain);
        if (member && h.seq === 0 && h.usageSeq === 0) {
          problems.push({ kind: 'deleted', chain, message: `chain ${chain} was deleted: the set checkpoint of ${latestSet!.at} lists it with ${member.seq} entries and ${member.usageSeq} usage rows` });
          continue;
        }
        if (member && !cps.some((c) => c.id === member.checkpoint)) {
          problems.push({ kind: 'deleted', chain, message: `chain ${chain}: its checkpoint ${member.checkpoint}, listed by the set checkpoint of ${latestSet!.at}, was deleted or is not valid` });
        }
        // The newest checkpoint of each chain: a head that still matches vouches for every row before it.
        const auditCp = cps.reduce<ChainCheckpoint | undefined>((best, c) => (!best || c.seq > best.seq ? c : best), undefined);
        const usageCp = cps.reduce<ChainCheckpoint | undefined>((best, c) => (!best || c.usageSeq > best.usageSeq ? c : best), undefined);
        const auditFloor = Math.max(auditCp?.seq ?? 0, member?.seq ?? 0);
        const usageFloor = Math.max(usageCp?.usageSeq ?? 0, member?.usageSeq ?? 0);
        if (h.seq === 0 && auditFloor > 0) {
          problems.push({ kind: 'deleted', chain, message: `chain ${chain} was deleted: it has no entries, a checkpoint says ${auditFloor}` });
        } else if (h.seq < auditFloor) {
          problems.push({ kind: 'truncated', chain, message: `chain ${chain} was truncated: it has ${h.seq} entries, a checkpoint says ${auditFloor}` });
        } else if (auditCp && auditCp.seq > 0 && await auditHashAt(db, chain, auditCp.seq) !== auditCp.head) {
          problems.push({ kind: 'rewritten', chain, message: `chain ${chain} was rewritten: entry ${auditCp.seq} no longer has the hash signed in the checkpoint of ${auditCp.at}, so entries up to ${auditCp.seq} were changed and the chain recomputed` });
        }
        if (h.usageSeq < usageFloor) {
          problems.push({ kind: 'usage', chain, message: `chain ${chain}: usage rows were deleted: it has ${h.usageSeq} usage rows, a checkpoint says ${usageFloor}` });
        } else if (usageCp && usageCp.usageSeq > 0 && await usageHashAt(db, chain, usageCp.usageSeq) !== usageCp.usageHead) {
          problems.push({ kind: 'usage', chain, message: `chain ${chain}: usage rows were rewritten: usage row ${usageCp.usageSeq} no longer has the hash signed in the checkpoint of ${usageCp.at}` });
        }
        if (!auditCp && !member && (h.seq > 0 || h.usageSeq > 0)) uncovered.push(chain);
      }
      if (valid === 0) warnings.push('no valid signed checkpoint: only the unkeyed hash chains were checked, which does not detect a recomputed or truncated chain');
      if (!external) warnings.push('checked against the checkpoints in the store only: a rollback (newest checkpoints deleted) is detected only with --checkpoints <exported copy>');
      return {
        ok: problems.length === 0, chains: chains.length, entries, usageRows, checkpoints: valid,
        latestCheckpoint: latestSet?.at ?? null, uncovered, problems, warnings,
      };
    },
  };
}

function sign(payload: Payload, signer: AuditSigner): SignedCheckpoint {
  const text = canonicalJson(payload);
  return {
    id: payload.id, kind: payload.type === 'specgate.audit.set' ? 'set' : 'chain', chain: payload.type === 'specgate.audit.chain' ? payload.chain : null,
    at: payload.at, payload: text, keyId: signer.keyId, signature: signer.sign(text),
  };
}

async function auditHashAt(db: Kysely<Schema>, chain: string, seq: number): Promise<string | undefined> {
  return (await db.selectFrom('audit').select('hash').where('tenant_id', '=', chain).where('seq', '=', seq).executeTakeFirst())?.hash;
}

async function usageHashAt(db: Kysely<Schema>, chain: string, seq: number): Promise<string | undefined> {
  return (await db.selectFrom('usage').select('hash').where('tenant_id', '=', chain).where('seq', '=', seq).executeTakeFirst())?.hash ?? undefined;
}

/** Parses an export (JSON lines); errors name the line. */
export function parseCheckpointExport(text: string, source: string): SignedCheckpoint[] {
  const out: SignedCheckpoint[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let v: Partial<SignedCheckpoint>;
    try { v = JSON.parse(line) as Partial<SignedCheckpoint>; } catch (e) { throw new Error(`${source}:${i + 1}: not JSON: ${(e as Error).message}`); }
    for (const k of ['id', 'kind', 'at', 'payload', 'keyId', 'signature'] as const) {
      if (typeof v[k] !== 'string') throw new Error(`${source}:${i + 1}: field "${k}" must be a string`);
    }
    out.push({ id: v.id!, kind: v.kind === 'set' ? 'set' : 'chain', chain: typeof v.chain === 'string' ? v.chain : null, at: v.at!, payload: v.payload!, keyId: v.keyId!, signature: v.signature! });
  });
  return out;
}
