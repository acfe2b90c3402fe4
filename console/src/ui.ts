/** Small shared pieces: the html tag, a data hook with error state, tables, messages, periods. */
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import htm from 'htm';

export const html = htm.bind(h);

export interface Loaded<T> { data: T | undefined; error: string | null; loading: boolean; reload: () => void }

/** Loads `fn` whenever a dependency changes; the latest answer wins. */
export function useLoad<T>(fn: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data: T | undefined; error: string | null; loading: boolean }>({ data: undefined, error: null, loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true, error: null }));
    fn().then(
      (data) => live && setState({ data, error: null, loading: false }),
      (e: Error) => live && setState({ data: undefined, error: e.message, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

export function Status({ loaded }: { loaded: { error: string | null; loading: boolean } }) {
  if (loaded.error) return html`<p class="error" role="alert">${loaded.error}</p>`;
  if (loaded.loading) return html`<p class="muted" aria-live="polite">Loading…</p>`;
  return null;
}

export interface Column<T> { label: string; cell: (row: T) => unknown; numeric?: boolean }

export function Table<T>({ caption, rows, columns, empty, onSelect, selected }: {
  caption: string; rows: T[]; columns: Column<T>[]; empty?: string; onSelect?: (row: T) => void; selected?: T;
}) {
  if (rows.length === 0) return html`<p class="muted">${empty ?? 'Nothing to show.'}</p>`;
  return html`<table>
    <caption>${caption}</caption>
    <thead><tr>${columns.map((c) => html`<th scope="col" class=${c.numeric ? 'num' : ''}>${c.label}</th>`)}</tr></thead>
    <tbody>${rows.map((row) => html`<tr class=${row === selected ? 'selected' : ''}
        tabindex=${onSelect ? 0 : undefined}
        onClick=${onSelect ? () => onSelect(row) : undefined}
        onKeyDown=${onSelect ? (e: KeyboardEvent) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); onSelect(row); } } : undefined}>
      ${columns.map((c) => html`<td class=${c.numeric ? 'num' : ''}>${c.cell(row)}</td>`)}
    </tr>`)}</tbody>
  </table>`;
}

export const PERIODS = [
  { id: 'month', label: 'This month' },
  { id: '7d', label: 'Last 7 days' },
  { id: '30d', label: 'Last 30 days' },
  { id: 'last-month', label: 'Last month' },
  { id: 'custom', label: 'Custom…' },
] as const;
export type PeriodId = (typeof PERIODS)[number]['id'];

/** [from, to) of a named period, as ISO dates in UTC. */
export function periodWindow(id: PeriodId, now: Date, custom: { from: string; to: string }): { from: string; to: string } {
  const day = 86_400_000;
  const monthStart = (y: number, m: number) => new Date(Date.UTC(y, m, 1)).toISOString();
  switch (id) {
    case 'month': return { from: monthStart(now.getUTCFullYear(), now.getUTCMonth()), to: now.toISOString() };
    case '7d': return { from: new Date(now.getTime() - 7 * day).toISOString(), to: now.toISOString() };
    case '30d': return { from: new Date(now.getTime() - 30 * day).toISOString(), to: now.toISOString() };
    case 'last-month': return { from: monthStart(now.getUTCFullYear(), now.getUTCMonth() - 1), to: monthStart(now.getUTCFullYear(), now.getUTCMonth()) };
    case 'custom': return custom;
  }
}

export const shortTime = (iso: string) => iso.replace('T', ' ').slice(0, 19);
export const fmt = (n: number | null | undefined) => (n === null || n === undefined ? '–' : n.toLocaleString('en'));
