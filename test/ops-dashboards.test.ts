/**
 * The Grafana dashboard and the Prometheus alert rules in deploy/ name only metrics the runtime
 * exports, and only label values it sets: a renamed metric or outcome fails here, not in an
 * operator's silent dashboard. The breaker gauge reads the runtime's breakers at scrape time.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createMetrics } from '../runtime/ops/metrics.ts';
import { root } from './helpers/e2e.ts';

const dashboard = JSON.parse(fs.readFileSync(path.join(root, 'deploy/grafana/specgate-dashboard.json'), 'utf8')) as { panels: Array<{ title: string; targets: Array<{ expr: string }> }> };
const alerts = parse(fs.readFileSync(path.join(root, 'deploy/prometheus/alerts.yaml'), 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }> }> };

/** Identifiers in a PromQL expression that are metric names (not functions, keywords or labels). */
const PROMQL_WORDS = new Set(['sum', 'max', 'min', 'avg', 'count', 'by', 'without', 'rate', 'irate', 'increase', 'histogram_quantile', 'topk', 'bottomk', 'le', 'and', 'or', 'unless', 'on', 'ignoring', 'group_left', 'group_right']);
function metricNames(expr: string): string[] {
  const withoutStrings = expr.replace(/"[^"]*"/g, '""').replace(/\{[^}]*\}/g, '{}').replace(/\[[^\]]*\]/g, '[]');
  const withoutGroupings = withoutStrings.replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, '');
  return [...withoutGroupings.matchAll(/\b([a-z_][a-z0-9_]*)\b(?!\s*\()/g)].map((m) => m[1]).filter((w) => !PROMQL_WORDS.has(w) && !/^\d/.test(w));
}

const exprs = [
  ...dashboard.panels.flatMap((p) => p.targets.map((t) => ({ where: `dashboard panel "${p.title}"`, expr: t.expr }))),
  ...alerts.groups.flatMap((g) => g.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr }))),
];

describe('dashboards and alert rules', () => {
  const metrics = createMetrics();
  const exported = new Set<string>();
  for (const m of metrics.registry.getMetricsAsArray()) {
    exported.add(m.name);
    // Histograms are scraped as _bucket, _count and _sum series.
    if (m.constructor.name === 'Histogram') for (const s of ['_bucket', '_count', '_sum']) exported.add(m.name + s);
  }
  // Prometheus's own series about its targets.
  exported.add('up');

  it('name only metrics the runtime exports', () => {
    expect(exprs.length).toBeGreaterThan(10);
    const named = new Set(exprs.flatMap(({ expr }) => metricNames(expr)));
    for (const n of ['mcp_tool_calls_total', 'mcp_tool_call_duration_seconds_bucket', 'upstream_request_duration_seconds_bucket', 'upstream_request_duration_seconds_count', 'specgate_upstream_breaker_state', 'up']) expect(named).toContain(n);
    const unknown = exprs.flatMap(({ where, expr }) => metricNames(expr).filter((n) => !exported.has(n)).map((n) => `${where}: ${n}`));
    expect(unknown).toEqual([]);
  });

  it('match outcome label values the runtime sets', () => {
    const outcomes = new Set(['ok', 'error', 'refused', 'exception']);
    const used = exprs.flatMap(({ expr }) => [...expr.matchAll(/outcome[!=]~?"([^"]+)"/g)].flatMap((m) => m[1].split('|')));
    expect(used.length).toBeGreaterThan(3);
    expect(used.filter((o) => !outcomes.has(o))).toEqual([]);
  });

  it('give every alert a duration, a severity and a summary', () => {
    for (const rule of alerts.groups.flatMap((g) => g.rules)) {
      expect(rule.for, rule.alert).toMatch(/^\d+[smh]$/);
      expect(['page', 'ticket'], rule.alert).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
    }
  });

  it('export each breaker state at scrape time, as the alert reads it', async () => {
    let state = 'closed';
    metrics.watchBreakers(() => ({ halopsa: state, hudu: 'closed' }));
    const scrape = async () => (await metrics.registry.getSingleMetricAsString('specgate_upstream_breaker_state')).split('\n').filter((l) => !l.startsWith('#'));
    expect(await scrape()).toEqual(['specgate_upstream_breaker_state{connector="halopsa"} 0', 'specgate_upstream_breaker_state{connector="hudu"} 0']);
    state = 'open';
    expect(await scrape()).toContain('specgate_upstream_breaker_state{connector="halopsa"} 2');
  });

  it('counts refusals apart from errors, with their reason', async () => {
    metrics.recordToolCall({ connector: 'halopsa', tool: 'halopsa_list_tickets', outcome: 'refused', reason: 'quota/quota-exceeded', seconds: 0.001 });
    metrics.recordToolCall({ connector: 'halopsa', tool: 'halopsa_list_tickets', outcome: 'error', seconds: 0.2 });
    const text = await metrics.registry.getSingleMetricAsString('mcp_tool_calls_total');
    expect(text).toContain('mcp_tool_calls_total{connector="halopsa",tool="halopsa_list_tickets",outcome="refused",reason="quota/quota-exceeded"} 1');
    expect(text).toContain('mcp_tool_calls_total{connector="halopsa",tool="halopsa_list_tickets",outcome="error"} 1');
  });
});
