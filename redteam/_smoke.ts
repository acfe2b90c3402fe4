import { Deployment } from '/work/h12d/redteam/deployment.ts';
const d = new Deployment({ store: 'sqlite', log: console.log });
const t0 = Date.now();
try {
  await d.start();
  console.log('started in', Date.now() - t0);
  for (const [k, tool, c, args] of [['aTech','hudu_list_companies',undefined,{}],['aTech','hudu_get_company','rt-contoso',{}],['aTech','hudu_list_passwords','rt-contoso',{}],['aAdmin','hudu_list_passwords','rt-contoso',{}],['aAdmin','itglue_list_passwords','rt-contoso',{}],['aTech','pax8_get_contact','rt-contoso',{contactId:'x1'}],['bTech','hudu_get_company','rt-globex',{}],['cTech','hudu_get_company','rt-initech',{}],['aDrill','hudu_list_vlans','rt-contoso',{}]] as const) {
    const a = await d.call(k, tool, args, { customer: c });
    console.log(k, tool, a.status, a.requestId, a.text.slice(0, 300));
  }
  console.log(d.recorder.requests.map(r => r.method + ' ' + r.rawUrl + ' ' + (r.headers['x-api-key'] ?? r.headers.authorization ?? '')));
  console.log((await d.audit()).map(r => r.tenantId + ' ' + r.seq + ' ' + JSON.stringify(r.record).slice(0, 200)).join('\n'));
  console.log(d.logs().slice(0, 3000));
  const m = await fetch(d.metricsUrl); console.log('metrics', m.status, (await m.text()).split('\n').filter(l => l.includes('tool_calls')).slice(0,5));
} finally { await d.close(); }
