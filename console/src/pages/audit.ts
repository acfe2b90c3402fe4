/** Audit search, newest first: filters, a record's full detail, and the chain's verification status. */
import { useState } from 'preact/hooks';
import { enc, get } from '../api.ts';
import { Status, Table, html, shortTime, useLoad } from '../ui.ts';

interface Entry { tenantId: string; seq: number; at: string; hash: string; prevHash: string; record: Record<string, unknown> & { outcome?: string; subject?: string; customer?: string; tool?: string; reason?: string; decisionId?: string; event?: string; action?: string } }
interface Filters { customer: string; subject: string; tool: string; outcome: string; from: string; to: string }

const OUTCOMES = ['', 'ok', 'error', 'refused', 'cancelled', 'replayed'];
const EMPTY: Filters = { customer: '', subject: '', tool: '', outcome: '', from: '', to: '' };
const PAGE = 50;

export function AuditPage({ tenant }: { tenant: string }) {
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [pages, setPages] = useState<number[]>([]);
  const [selected, setSelected] = useState<Entry | undefined>();
  const first = useLoad(() => get<{ items: Entry[]; next: string | null }>(`/tenants/${enc(tenant)}/audit`, { ...filters, order: 'desc', limit: PAGE }), [tenant, filters]);
  const [more, setMore] = useState<Entry[]>([]);
  const [moreError, setMoreError] = useState<string | null>(null);
  const verify = useLoad(() => get<IntegrityReport>(`/tenants/${enc(tenant)}/audit/verify`), [tenant]);
  const items = [...(first.data?.items ?? []), ...more];
  const last = items[items.length - 1];
  const hasMore = (more.length ? pages.length > 0 && more.length % PAGE === 0 : first.data?.next !== null && first.data !== undefined);

  const apply = (e: Event) => {
    e.preventDefault();
    setMore([]);
    setPages([]);
    setSelected(undefined);
    setFilters(draft);
  };
  const loadMore = async () => {
    setMoreError(null);
    try {
      const page = await get<{ items: Entry[] }>(`/tenants/${enc(tenant)}/audit`, { ...filters, order: 'desc', limit: PAGE, before: last.seq });
      setMore([...more, ...page.items]);
      setPages([...pages, page.items.length]);
    } catch (e) {
      setMoreError((e as Error).message);
    }
  };
  const field = (name: keyof Filters, label: string, type = 'text') => html`<label>${label}
    <input name=${name} type=${type} value=${draft[name]} onInput=${(e: Event) => setDraft({ ...draft, [name]: (e.target as HTMLInputElement).value })} /></label>`;

  return html`<section aria-labelledby="audit-h">
    <h2 id="audit-h">Audit</h2>
    <${VerifyStatus} verify=${verify} />
    <form class="filters" onSubmit=${apply} aria-label="Audit filters">
      ${field('customer', 'Customer')}
      ${field('subject', 'Subject')}
      ${field('tool', 'Tool')}
      <label>Outcome
        <select name="outcome" value=${draft.outcome} onChange=${(e: Event) => setDraft({ ...draft, outcome: (e.target as HTMLSelectElement).value })}>
          ${OUTCOMES.map((o) => html`<option value=${o}>${o || 'any'}</option>`)}
        </select>
      </label>
      ${field('from', 'From', 'date')}
      ${field('to', 'To', 'date')}
      <button type="submit">Search</button>
    </form>
    <${Status} loaded=${first} />
    <div class="columns">
      <div>
        <${Table} caption="Audit records, newest first" rows=${items} selected=${selected} onSelect=${setSelected}
          empty="No audit records match." columns=${[
            { label: 'Seq', cell: (e: Entry) => e.seq, numeric: true },
            { label: 'Time (UTC)', cell: (e: Entry) => shortTime(e.at) },
            { label: 'Outcome', cell: (e: Entry) => html`<span class=${`badge ${e.record.outcome ?? e.record.event ?? ''}`}>${e.record.outcome ?? e.record.action ?? e.record.event ?? '–'}</span>` },
            { label: 'Subject', cell: (e: Entry) => e.record.subject ?? '–' },
            { label: 'Customer', cell: (e: Entry) => e.record.customer ?? '–' },
            { label: 'Tool', cell: (e: Entry) => e.record.tool ?? '–' },
          ]} />
        ${moreError && html`<p class="error" role="alert">${moreError}</p>`}
        ${hasMore && last && html`<button type="button" onClick=${loadMore}>Older records</button>`}
      </div>
      <div class="detail" aria-live="polite">
        ${selected ? html`<h3>Record ${selected.seq}</h3>
          <dl>
            <dt>Time</dt><dd>${selected.at}</dd>
            <dt>Decision id</dt><dd><code>${selected.record.decisionId ?? '–'}</code></dd>
            <dt>Outcome</dt><dd>${selected.record.outcome ?? selected.record.action ?? '–'}</dd>
            <dt>Reason</dt><dd>${selected.record.reason ?? '–'}</dd>
            <dt>Hash</dt><dd><code>${selected.hash.slice(0, 16)}…</code></dd>
          </dl>
          <pre aria-label="The full record">${JSON.stringify(selected.record, null, 2)}</pre>`
        : html`<p class="muted">Select a record to see its full detail.</p>`}
      </div>
    </div>
  </section>`;
}

interface IntegrityReport {
  ok: boolean; chains: number; entries: number; usageRows: number; checkpoints: number; latestCheckpoint: string | null;
  uncovered: string[]; problems: Array<{ kind: string; chain: string | null; message: string }>; warnings: string[];
}

/** The chain held against its signed checkpoints, as `specgate audit verify` reports it. */
function VerifyStatus({ verify }: { verify: { data?: IntegrityReport; error: string | null; loading: boolean } }) {
  if (verify.loading) return html`<p class="muted">Verifying the chain…</p>`;
  if (verify.error || !verify.data) return html`<p class="warn" role="status">Chain verification unavailable: ${verify.error}</p>`;
  const v = verify.data;
  const checkpoint = v.latestCheckpoint ? ` Latest signed checkpoint: ${v.latestCheckpoint.replace('T', ' ').slice(0, 19)} UTC (${v.checkpoints} valid).` : ' No signed checkpoint yet.';
  if (!v.ok) {
    return html`<div class="error" role="status" data-verify="failed">
      <p>Chain verification FAILED:</p>
      <ul>${v.problems.map((p) => html`<li><strong>${p.kind}</strong>: ${p.message}</li>`)}</ul>
    </div>`;
  }
  return html`<p class="ok" role="status" data-verify="ok">Chain verified: ${v.entries} records and ${v.usageRows} usage rows hold.${checkpoint}
    ${v.warnings.map((w) => html`<span class="warn"> ${w}</span>`)}</p>`;
}
