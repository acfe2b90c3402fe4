/** The approvals queue: pending requests with their arguments; approve or deny with a reason. */
import { useState } from 'preact/hooks';
import { enc, get, send } from '../api.ts';
import { Status, html, shortTime, useLoad } from '../ui.ts';

interface Approval { id: string; tenantId: string; subject: string; customerId: string | null; connector: string; tool: string; arguments: unknown; status: string; requestedAt: string; expiresAt: string; reason: string; decidedBy: string | null; note: string | null }

export function ApprovalsPage({ tenant }: { tenant: string }) {
  const [status, setStatus] = useState('pending');
  const list = useLoad(() => get<{ items: Approval[] }>(`/tenants/${enc(tenant)}/approvals`, { status, limit: 200 }), [tenant, status]);
  return html`<section aria-labelledby="approvals-h">
    <h2 id="approvals-h">Approvals</h2>
    <form class="filters" onSubmit=${(e: Event) => e.preventDefault()}>
      <label>Status
        <select value=${status} onChange=${(e: Event) => setStatus((e.target as HTMLSelectElement).value)}>
          ${['pending', 'approved', 'denied', 'used', 'expired'].map((s) => html`<option value=${s}>${s}</option>`)}
        </select>
      </label>
    </form>
    <${Status} loaded=${list} />
    ${list.data && list.data.items.length === 0 && html`<p class="muted">No ${status} approval requests.</p>`}
    <ul class="cards">${(list.data?.items ?? []).map((a) => html`<li key=${a.id}><${ApprovalCard} tenant=${tenant} approval=${a} onDecided=${list.reload} /></li>`)}</ul>
  </section>`;
}

function ApprovalCard({ tenant, approval, onDecided }: { tenant: string; approval: Approval; onDecided: () => void }) {
  const [note, setNote] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const decide = async (verb: 'approve' | 'deny') => {
    setBusy(true);
    setError(null);
    try {
      await send('POST', `/tenants/${enc(tenant)}/approvals/${enc(approval.id)}/${verb}`, note ? { note } : {});
      onDecided();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const noteId = `note-${approval.id}`;
  return html`<article class="card" aria-label=${`Approval request for ${approval.tool}`} data-approval=${approval.id}>
    <h3>${approval.tool}</h3>
    <p>Requested by <strong>${approval.subject}</strong>${approval.customerId ? html` for customer <strong>${approval.customerId}</strong>` : ''} at ${shortTime(approval.requestedAt)} UTC (policy: ${approval.reason}). Status: <span class="badge">${approval.status}</span></p>
    <pre aria-label="Arguments">${JSON.stringify(approval.arguments, null, 2)}</pre>
    ${approval.status === 'pending' ? html`
      <label for=${noteId}>Reason</label>
      <textarea id=${noteId} rows="2" value=${note} onInput=${(e: Event) => setNote((e.target as HTMLTextAreaElement).value)}></textarea>
      <div class="actions">
        <button type="button" disabled=${busy} onClick=${() => decide('approve')}>Approve</button>
        <button type="button" class="danger" disabled=${busy} onClick=${() => decide('deny')}>Deny</button>
      </div>` : html`<p>Decided by ${approval.decidedBy ?? '–'}${approval.note ? `: ${approval.note}` : ''}</p>`}
    ${error && html`<p class="error" role="alert">${error}</p>`}
  </article>`;
}
