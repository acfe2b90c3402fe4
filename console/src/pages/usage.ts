/** Usage over time: calls, billable units, errors and refusals apart, latency percentiles; top tools and customers; CSV export. */
import { useState } from 'preact/hooks';
import { download, enc, get } from '../api.ts';
import { Chart, color, type Line } from '../chart.ts';
import { PERIODS, Status, Table, fmt, html, periodWindow, useLoad, type PeriodId } from '../ui.ts';

interface Point { at: string; key: string | null; calls: number; units: number; ok: number; errors: number; cancelled: number; refused: number; p50: number | null; p95: number | null; p99: number | null }
interface Total { key: string | null; calls: number; units: number; errors: number; refused: number }
interface Series { from: string; to: string; points: Point[]; totals: Total[] }

const SPLITS = [
  { id: '', label: 'Everything' }, { id: 'customer', label: 'Customer' }, { id: 'connector', label: 'Connector' }, { id: 'tool', label: 'Tool' }, { id: 'tenant', label: 'Tenant' },
] as const;

/** tenant '' = every tenant (a global operator). */
function seriesPath(tenant: string) {
  return tenant ? `/tenants/${enc(tenant)}/usage/series` : '/usage/series';
}

function byTime(points: Point[]): { times: number[]; at: (t: number, key: string | null) => Point | undefined } {
  const times = [...new Set(points.map((p) => p.at))].sort().map((at) => Date.parse(at) / 1000);
  const index = new Map(points.map((p) => [`${Date.parse(p.at) / 1000}|${p.key}`, p]));
  return { times, at: (t, key) => index.get(`${t}|${key}`) };
}

export function UsagePage({ tenant }: { tenant: string }) {
  const [period, setPeriod] = useState<PeriodId>('month');
  const [custom, setCustom] = useState({ from: '', to: '' });
  const [bucket, setBucket] = useState<'day' | 'hour'>('day');
  const [split, setSplit] = useState<string>('');
  const now = new Date();
  const window = period === 'custom' && (!custom.from || !custom.to) ? null : periodWindow(period, now, custom);
  const key = window ? `${window.from.slice(0, 13)}|${window.to.slice(0, 13)}` : 'none';
  const query = (by?: string) => ({ ...(window ?? {}), bucket, ...(by && { by }) });
  const main = useLoad<Series | null>(() => (window ? get<Series>(seriesPath(tenant), query(split || undefined)) : Promise.resolve(null)), [tenant, key, bucket, split]);
  const tools = useLoad<Series | null>(() => (window ? get<Series>(seriesPath(tenant), query('tool')) : Promise.resolve(null)), [tenant, key, bucket]);
  const customers = useLoad<Series | null>(() => (window && tenant ? get<Series>(seriesPath(tenant), query('customer')) : Promise.resolve(null)), [tenant, key, bucket]);
  const [exportError, setExportError] = useState<string | null>(null);

  const points = main.data?.points ?? [];
  const { times, at } = byTime(points);
  let callLines: Line[];
  if (!split) {
    const pick = (f: (p: Point) => number) => times.map((t) => { const p = at(t, null); return p ? f(p) : 0; });
    callLines = [
      { label: 'Calls', values: pick((p) => p.calls), color: color(0) },
      { label: 'Billable units', values: pick((p) => p.units), color: color(3) },
      { label: 'Errors', values: pick((p) => p.errors), color: color(1) },
      { label: 'Refusals', values: pick((p) => p.refused), color: color(2) },
    ];
  } else {
    const top = (main.data?.totals ?? []).slice(0, 8);
    callLines = top.map((tot, i) => ({ label: tot.key ?? '(none)', values: times.map((t) => at(t, tot.key)?.calls ?? 0), color: color(i) }));
  }
  const latencyLines: Line[] = split ? [] : (['p50', 'p95', 'p99'] as const).map((q, i) => ({
    label: `${q} latency`, values: times.map((t) => at(t, null)?.[q] ?? null), color: color(i + 4),
  }));
  const totals = (main.data?.totals ?? []).reduce((s, t) => ({ calls: s.calls + t.calls, units: s.units + t.units, errors: s.errors + t.errors, refused: s.refused + t.refused }), { calls: 0, units: 0, errors: 0, refused: 0 });

  const exportCsv = async () => {
    setExportError(null);
    if (!window || !tenant) return;
    try {
      await download(`/tenants/${enc(tenant)}/usage`, { from: window.from, to: window.to, format: 'csv' }, `usage-${tenant}-${window.from.slice(0, 10)}-${window.to.slice(0, 10)}.csv`);
    } catch (e) {
      setExportError((e as Error).message);
    }
  };

  return html`<section aria-labelledby="usage-h">
    <h2 id="usage-h">Usage</h2>
    <form class="filters" onSubmit=${(e: Event) => e.preventDefault()}>
      <label>Period
        <select value=${period} onChange=${(e: Event) => setPeriod((e.target as HTMLSelectElement).value as PeriodId)}>
          ${PERIODS.map((p) => html`<option value=${p.id}>${p.label}</option>`)}
        </select>
      </label>
      ${period === 'custom' && html`
        <label>From <input type="date" value=${custom.from.slice(0, 10)} onChange=${(e: Event) => setCustom({ ...custom, from: (e.target as HTMLInputElement).value })} /></label>
        <label>To <input type="date" value=${custom.to.slice(0, 10)} onChange=${(e: Event) => setCustom({ ...custom, to: (e.target as HTMLInputElement).value })} /></label>`}
      <label>Per
        <select value=${bucket} onChange=${(e: Event) => setBucket((e.target as HTMLSelectElement).value as 'day' | 'hour')}>
          <option value="day">day</option><option value="hour">hour</option>
        </select>
      </label>
      <label>Split by
        <select value=${split} onChange=${(e: Event) => setSplit((e.target as HTMLSelectElement).value)}>
          ${SPLITS.filter((s) => s.id !== 'tenant' || !tenant).filter((s) => s.id !== 'customer' || tenant).map((s) => html`<option value=${s.id}>${s.label}</option>`)}
        </select>
      </label>
      ${tenant && html`<button type="button" onClick=${exportCsv}>Export CSV</button>`}
    </form>
    ${exportError && html`<p class="error" role="alert">${exportError}</p>`}
    <${Status} loaded=${main} />
    ${main.data && html`
      <dl class="kpis">
        <div><dt>Calls</dt><dd data-kpi="calls">${fmt(totals.calls)}</dd></div>
        <div><dt>Billable units</dt><dd data-kpi="units">${fmt(totals.units)}</dd></div>
        <div><dt>Errors</dt><dd data-kpi="errors">${fmt(totals.errors)}</dd></div>
        <div><dt>Refusals</dt><dd data-kpi="refused">${fmt(totals.refused)}</dd></div>
      </dl>
      <${Chart} title=${split ? `Calls by ${split}` : 'Calls, units, errors and refusals'} times=${times} lines=${callLines} unit="calls" />
      ${!split && html`<${Chart} title="Latency percentiles" times=${times} lines=${latencyLines} unit="ms" />`}`}
    <div class="columns">
      <div>
        <h3>Top tools</h3>
        <${Status} loaded=${tools} />
        <${Table} caption="Top tools by calls" rows=${(tools.data?.totals ?? []).slice(0, 10)} columns=${[
          { label: 'Tool', cell: (t: Total) => t.key },
          { label: 'Calls', cell: (t: Total) => fmt(t.calls), numeric: true },
          { label: 'Units', cell: (t: Total) => fmt(t.units), numeric: true },
          { label: 'Errors', cell: (t: Total) => fmt(t.errors), numeric: true },
          { label: 'Refusals', cell: (t: Total) => fmt(t.refused), numeric: true },
        ]} />
      </div>
      ${tenant && html`<div>
        <h3>Top customers</h3>
        <${Status} loaded=${customers} />
        <${Table} caption="Top customers by calls" rows=${(customers.data?.totals ?? []).slice(0, 10)} columns=${[
          { label: 'Customer', cell: (t: Total) => t.key ?? '(tenant-wide)' },
          { label: 'Calls', cell: (t: Total) => fmt(t.calls), numeric: true },
          { label: 'Units', cell: (t: Total) => fmt(t.units), numeric: true },
          { label: 'Refusals', cell: (t: Total) => fmt(t.refused), numeric: true },
        ]} />
      </div>`}
    </div>
  </section>`;
}
