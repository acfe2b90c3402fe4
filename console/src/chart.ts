/** A uPlot time-series chart with a text alternative (the same figures as a table) for screen readers. */
import uPlot from 'uplot';
import { useEffect, useRef } from 'preact/hooks';
import { html } from './ui.ts';

export interface Line { label: string; values: Array<number | null>; color: string }

const PALETTE = ['#1f5fa8', '#b3261e', '#6b4ea2', '#1e7b43', '#a35a00', '#00707a', '#8a3b6b', '#4a5560'];
export const color = (i: number) => PALETTE[i % PALETTE.length];

export function Chart({ title, times, lines, unit }: { title: string; times: number[]; lines: Line[]; unit?: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!box.current || times.length === 0) return;
    const width = Math.max(320, box.current.clientWidth || 720);
    const plot = new uPlot({
      width, height: 260,
      series: [{}, ...lines.map((l) => ({ label: l.label, stroke: l.color, width: 2, points: { show: times.length < 60 } }))],
      axes: [{}, { label: unit ?? '', size: 60 }],
      scales: { x: { time: true } },
      legend: { live: false },
    }, [times, ...lines.map((l) => l.values)] as uPlot.AlignedData, box.current);
    return () => plot.destroy();
  }, [times, lines]);
  const id = `chart-${title.replace(/\W+/g, '-').toLowerCase()}`;
  return html`<figure class="chart" aria-labelledby=${id}>
    <figcaption id=${id}>${title}</figcaption>
    ${times.length === 0 ? html`<p class="muted">No data in this period.</p>` : html`<div ref=${box} role="img" aria-label=${`${title}: ${lines.map((l) => l.label).join(', ')}`}></div>`}
    <details>
      <summary>${title} as a table</summary>
      <table>
        <thead><tr><th scope="col">Time</th>${lines.map((l) => html`<th scope="col" class="num">${l.label}</th>`)}</tr></thead>
        <tbody>${times.map((t, i) => html`<tr><td>${new Date(t * 1000).toISOString().slice(0, 16).replace('T', ' ')}</td>${lines.map((l) => html`<td class="num">${l.values[i] ?? '–'}</td>`)}</tr>`)}</tbody>
      </table>
    </details>
  </figure>`;
}
