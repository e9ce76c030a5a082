// The twinserve console: one page over the server's own JSON API. No build step: plain JavaScript, Chart.js from
// the jar. The session cookie (HttpOnly) stands for the API key; every change carries the session's CSRF token.
'use strict';

const state = { me: null, csrf: null, timers: [], charts: [] };
const ROLES = ['user', 'operator', 'admin'];

// ---- small helpers ----

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function atLeast(role) {
  return state.me && ROLES.indexOf(state.me.role) >= ROLES.indexOf(role);
}

function fmt(v, digits) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  if (typeof v !== 'number') return String(v);
  const d = digits === undefined ? (Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2) : digits;
  return v.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: 0 });
}

class ApiError extends Error {
  constructor(status, body) {
    super(body && body.error ? body.error.message : 'HTTP ' + status);
    this.status = status;
    this.body = body;
  }
}

async function api(method, path, body) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && state.csrf) headers['X-CSRF-Token'] = state.csrf;
  const r = await fetch(path, {
    method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = text; }
  if (r.status === 401 && path !== '/console/session') {
    state.me = null;
    location.hash = '#/signin';
  }
  if (!r.ok) throw new ApiError(r.status, data);
  return data;
}

function errorBox(e) {
  const refused = e.status === 403 || e.status === 404;
  return h('p', { class: 'error', role: 'alert', 'data-status': e.status || '' },
    (refused ? 'Refused: ' : 'Error: ') + e.message);
}

function page(title, ...children) {
  const main = document.getElementById('main');
  main.replaceChildren(h('h1', { text: title }), ...children);
  return main;
}

function clearTimers() {
  state.timers.forEach(t => clearInterval(t));
  state.timers = [];
  state.charts.forEach(c => c.destroy());
  state.charts = [];
}

function chart(canvas, config) {
  config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options);
  const c = new Chart(canvas, config);
  state.charts.push(c);
  return c;
}

function chartBox(id) {
  return h('div', { class: 'chart' }, h('canvas', { id, role: 'img', 'aria-label': id }));
}

function axis(title, extra) {
  return Object.assign({ title: { display: true, text: title } }, extra || {});
}

// ---- sign-in ----

function renderSignIn() {
  document.getElementById('nav').hidden = true;
  document.getElementById('signout').hidden = true;
  document.getElementById('who').textContent = '';
  const key = h('input', { id: 'key', type: 'password', autocomplete: 'off', size: 48, placeholder: 'tsk_…', required: true });
  const msg = h('p', { class: 'error', role: 'alert' });
  const form = h('form', {
    class: 'card', id: 'signin-form',
    onsubmit: async ev => {
      ev.preventDefault();
      msg.textContent = '';
      try {
        const me = await api('POST', '/console/session', { key: key.value });
        signedIn(me);
        location.hash = '#/whatif';
      } catch (e) {
        msg.textContent = e.message;
      }
    },
  },
  h('label', { for: 'key', text: 'API key' }),
  h('div', { class: 'row' }, key, h('button', { type: 'submit', id: 'signin', text: 'Sign in' })),
  h('p', { class: 'muted', text: 'Create one with `twinserve admin create-key --role admin`. The key stays on the server: the browser holds only a session cookie.' }),
  msg);
  page('Sign in', form);
  key.focus();
}

function signedIn(me) {
  state.me = me;
  state.csrf = me.csrf;
  document.getElementById('nav').hidden = false;
  document.getElementById('signout').hidden = false;
  document.getElementById('who').textContent = me.user + ' (' + me.role + ')';
  for (const a of document.querySelectorAll('#nav a[data-role]')) a.hidden = !atLeast(a.dataset.role);
}

async function signOut() {
  try { await api('DELETE', '/console/session'); } catch (e) { /* already ended */ }
  state.me = null;
  state.csrf = null;
  location.hash = '#/signin';
}

// ---- what-if ----

function specEditor(id, label, kind, text) {
  const area = h('textarea', { id, spellcheck: 'false', 'aria-label': label });
  area.value = text || '';
  const err = h('p', { class: 'error', id: id + '-error', role: 'alert' });
  return { kind, area, err, el: h('div', {}, h('label', { for: id, text: label }), area, err) };
}

// checks an editor with the server's parser; returns its JSON, or null after showing the line and key path
async function checkSpec(ed) {
  ed.err.textContent = '';
  ed.area.classList.remove('invalid');
  try {
    const r = await api('POST', '/console/yaml', { kind: ed.kind, yaml: ed.area.value });
    return r.json;
  } catch (e) {
    const er = e.body && e.body.error;
    ed.area.classList.add('invalid');
    ed.err.textContent = er && er.line
      ? 'line ' + er.line + (er.key_path ? ', ' + er.key_path : '') + ': ' + er.message
      : e.message;
    if (er && er.line) selectLine(ed.area, er.line);
    return null;
  }
}

function selectLine(area, line) {
  const lines = area.value.split('\n');
  let start = 0;
  for (let i = 0; i < line - 1 && i < lines.length; i++) start += lines[i].length + 1;
  area.setSelectionRange(start, start + (lines[line - 1] || '').length);
}

// a cluster to start from: two replicas of the built-in deployment behind a router (docs/cluster-spec.md); without
// traffic, the job's workload is the traffic
const CLUSTER_TEMPLATE = `name: chat-two-replicas
pools:
  - {name: h100, gpu: h100-64gb, gpus_per_node: 8, nodes: 1, cost_per_gpu_hour: 3.0}
deployments:
  - name: chat
    model: llama-3.1-8b
    replica: {tp: 1, max_adapters: 32, max_adapter_rank: 32, max_cpu_adapters: 384}
    perf_model: {type: roofline, calibration: vllm-0.8.5-h100-64gb/llama-3.1-8b}
    pools: [h100]
    replicas: {initial: 2, min: 2, max: 2}
    router: {type: least_loaded}
`;

async function renderWhatIf() {
  const defaults = await api('GET', '/console/defaults');
  const workload = specEditor('workload', 'Workload (YAML, docs/workload-spec.md)', 'workload', defaults.workload);
  const deployment = specEditor('deployment', 'Deployment (YAML, docs/deployment-spec.md)', 'deployment', defaults.deployment);
  // pick a workload to start from: the built-ins, or a past study's
  const picks = { 'built-in: the study\'s 96 adapters': defaults.workload, 'built-in: multi-turn chat, 32 adapters': defaults.capacity_workload };
  const pick = h('select', { id: 'workload-pick', 'aria-label': 'start from' }, Object.keys(picks).map(k => h('option', { value: k, text: k })));
  pick.addEventListener('change', () => { workload.area.value = picks[pick.value]; });
  api('GET', '/api/jobs?kind=simulation&limit=10').then(async jobs => {
    for (const j of jobs.filter(x => x.status === 'succeeded')) {
      const full = await api('GET', '/api/jobs/' + j.id);
      if (full.request && full.request.workload) {
        const name = 'study ' + j.id.slice(0, 8) + ' (' + j.created_at.slice(0, 16).replace('T', ' ') + ')';
        picks[name] = JSON.stringify(full.request.workload, null, 2);
        pick.append(h('option', { value: name, text: name }));
      }
    }
  }).catch(() => { /* the built-ins are enough */ });
  // one replica (a deployment spec) or a cluster (pools, deployments, routers, autoscalers)
  const kind = h('select', { id: 'spec-kind', 'aria-label': 'what to simulate' },
    h('option', { value: 'deployment', text: 'one replica (deployment spec)' }), h('option', { value: 'cluster', text: 'a cluster (cluster spec)' }));
  const label = deployment.el.querySelector('label');
  kind.addEventListener('change', () => {
    deployment.kind = kind.value;
    deployment.area.value = kind.value === 'cluster' ? CLUSTER_TEMPLATE : defaults.deployment;
    label.textContent = kind.value === 'cluster' ? 'Cluster (YAML, docs/cluster-spec.md)' : 'Deployment (YAML, docs/deployment-spec.md)';
    deployment.err.textContent = '';
  });
  const sweep = h('input', { id: 'sweep', size: 48, placeholder: 'replica.max_adapters=8,16,32 (optional)' });
  const win = h('input', { id: 'window', type: 'number', min: 1, step: 1, value: 600, size: 8 });
  const msg = h('p', { class: 'error', role: 'alert' });
  const run = h('button', { id: 'run', type: 'button', text: 'Run what-if' });
  run.addEventListener('click', async () => {
    msg.textContent = '';
    run.disabled = true;
    try {
      const w = await checkSpec(workload);
      const d = await checkSpec(deployment);
      if (!w || !d) return;
      const body = { workload: w, window_s: Number(win.value) };
      body[deployment.kind] = d;
      const s = sweep.value.trim();
      if (s) body.sweep = s.split(/\s*;\s*/).filter(Boolean);
      const job = await api('POST', '/api/simulations', body);
      location.hash = '#/job/' + job.id;
    } catch (e) {
      msg.replaceChildren(errorBox(e));
    } finally {
      run.disabled = false;
    }
  });
  const check = h('button', { type: 'button', class: 'secondary', id: 'check', text: 'Check',
    onclick: async () => { await checkSpec(workload); await checkSpec(deployment); } });
  page('What-if',
    h('div', { class: 'grid' },
      h('div', { class: 'card' }, h('div', { class: 'row' }, h('label', { for: 'workload-pick', text: 'Start from' }), pick), workload.el),
      h('div', { class: 'card' }, h('div', { class: 'row' }, h('label', { for: 'spec-kind', text: 'Simulate' }), kind), deployment.el)),
    h('div', { class: 'card' },
      h('div', { class: 'row' }, h('label', { for: 'sweep', text: 'Sweep' }), sweep,
        h('label', { for: 'window', text: 'Simulated seconds' }), win),
      h('p', { class: 'muted', text: 'A sweep takes KEY=V1,V2 clauses separated by ";", e.g. replica.max_adapters=16,32,64. Each configuration is one simulation, compared against the SLO.' }),
      h('div', { class: 'row' }, check, run), msg));
}

// ---- a job: progress, then its results ----

async function renderJob(id) {
  const bar = h('progress', { id: 'progress', max: 1, value: 0 });
  const status = h('p', { id: 'job-status', class: 'muted', text: 'queued' });
  const results = h('div', { id: 'results' });
  page('Job ' + id, h('div', { class: 'card' }, bar, status), results);
  let job;
  try {
    job = await api('GET', '/api/jobs/' + id);
  } catch (e) {
    results.replaceChildren(errorBox(e));
    return;
  }
  const done = j => ['succeeded', 'failed', 'cancelled'].includes(j.status);
  if (!done(job)) {
    await new Promise(resolve => {
      const es = new EventSource('/api/jobs/' + id + '/events');
      es.onmessage = m => {
        const ev = JSON.parse(m.data);
        if (ev.type === 'progress') {
          bar.value = ev.progress;
          status.textContent = Math.round(ev.progress * 100) + '% ' + (ev.message || '');
        } else {
          status.textContent = ev.type;
        }
        if (['succeeded', 'failed', 'cancelled'].includes(ev.type)) { es.close(); resolve(); }
      };
      es.onerror = () => { es.close(); resolve(); };
    });
    job = await api('GET', '/api/jobs/' + id);
  }
  bar.value = job.status === 'succeeded' ? 1 : bar.value;
  status.textContent = job.status + (job.finished_at ? ' at ' + job.finished_at : '');
  status.dataset.status = job.status;
  if (job.status === 'failed') {
    results.replaceChildren(h('p', { class: 'error', role: 'alert', text: job.error }));
  } else if (job.status === 'succeeded') {
    if (job.kind === 'plan') renderPlanResult(results, job);
    else if (job.kind === 'capacity') renderCapacityResult(results, job.result);
    else renderSimulationResult(results, job.result);
  }
}

function verdict(slo) {
  if (!slo) return h('p', { class: 'muted', text: 'No SLO verdict.' });
  // a bound named min_* is a floor, any other a ceiling
  const misses = (slo.checks || []).filter(c => !c.met)
    .map(c => c.key + ' ' + fmt(c.actual) + (c.key.startsWith('min_') ? ' < ' : ' > ') + fmt(c.limit));
  return h('div', { class: 'verdict ' + (slo.met ? 'met' : 'missed'), id: 'verdict' },
    slo.met ? 'Meets the SLO' : 'Misses the SLO: ' + misses.join('; '));
}

function checksTable(slo) {
  if (!slo || !slo.checks) return null;
  return h('div', { class: 'table-wrap' }, h('table', {},
    h('thead', {}, h('tr', {}, h('th', { text: 'bound' }), h('th', { class: 'num', text: 'actual' }),
      h('th', { class: 'num', text: 'limit' }), h('th', { text: '' }))),
    h('tbody', {}, slo.checks.map(c => h('tr', {}, h('td', { text: c.key }), h('td', { class: 'num', text: fmt(c.actual) }),
      h('td', { class: 'num', text: fmt(c.limit) }), h('td', { class: c.met ? 'ok' : 'error', text: c.met ? 'met' : 'missed' }))))));
}

function renderSimulationResult(root, result) {
  if (Array.isArray(result)) return renderSweep(root, result);
  if (result.summary && result.summary.deployments) return renderCluster(root, result);
  renderRun(root, result);
}

function renderRun(root, doc, prefix) {
  const s = doc.summary;
  const p = prefix || 'run';
  root.replaceChildren(
    h('div', { class: 'card' }, verdict(doc.slo), checksTable(doc.slo),
      h('p', { class: 'muted', text: [doc.model, doc.gpu, doc.calibration].filter(Boolean).join(' · ') }),
      // what to know about the inputs before trusting the figures (lengths the caps change, prefixes not cached)
      doc.notices ? h('ul', { id: p + '-notices', class: 'notices' }, doc.notices.map(n =>
        h('li', { class: n.level === 'warning' ? 'error' : null, text: n.level + ': ' + n.message }))) : null),
    h('div', { class: 'grid' },
      h('div', { class: 'card' }, h('h2', { text: 'Throughput, offered and achieved' }), chartBox(p + '-throughput')),
      h('div', { class: 'card' }, h('h2', { text: 'Latency percentiles' }), chartBox(p + '-latency'))),
    h('div', { class: 'card' }, h('h2', { text: 'TTFT and inter-token latency distributions' }), chartBox(p + '-cdf')),
    h('div', { class: 'card' }, h('h2', { text: 'Queue, adapters in slots and KV cache over time' }), chartBox(p + '-timeline')),
    h('div', { class: 'card' }, h('h2', { text: 'Summary' }), summaryTable(s)));
  const kinds = ['input_tokens_per_s', 'output_tokens_per_s', 'total_tokens_per_s'];
  chart(document.getElementById(p + '-throughput'), {
    type: 'bar',
    data: { labels: ['input', 'output', 'total'], datasets: [
      { label: 'offered', data: kinds.map(k => s.offered[k]), backgroundColor: '#9db4e8' },
      { label: 'achieved', data: kinds.map(k => s.achieved[k]), backgroundColor: '#2457c5' }] },
    options: { scales: { y: axis('tokens/s', { beginAtZero: true }) } },
  });
  const pct = ['p50_ms', 'p90_ms', 'p99_ms', 'max_ms'];
  chart(document.getElementById(p + '-latency'), {
    type: 'bar',
    data: { labels: ['p50', 'p90', 'p99', 'max'], datasets: [
      { label: 'TTFT', data: pct.map(k => s.ttft[k]), backgroundColor: '#e0823d' },
      { label: 'inter-token', data: pct.map(k => s.itl[k]), backgroundColor: '#3d9e6a' }] },
    options: { scales: { y: axis('ms (log scale)', { type: 'logarithmic' }) } },
  });
  // the distributions: each latency's values at the summary's quantiles, as a CDF over a log time axis
  const QUANTILES = [1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 99, 99.9, 100];
  const cdf = l => (l.quantiles_ms || []).map((v, i) => ({ x: Math.max(v, 0.001), y: QUANTILES[i] }));
  chart(document.getElementById(p + '-cdf'), {
    type: 'line',
    data: { datasets: [
      { label: 'TTFT', data: cdf(s.ttft), borderColor: '#e0823d', backgroundColor: '#e0823d', pointRadius: 2 },
      { label: 'inter-token', data: cdf(s.itl), borderColor: '#3d9e6a', backgroundColor: '#3d9e6a', pointRadius: 2 }] },
    options: { scales: { x: axis('latency, ms (log scale)', { type: 'logarithmic' }),
      y: axis('at or below, %', { min: 0, max: 100 }) } },
  });
  const t = s.timeline || [];
  chart(document.getElementById(p + '-timeline'), {
    type: 'line',
    data: { labels: t.map(x => x.time_s), datasets: [
      { label: 'waiting', data: t.map(x => x.waiting), borderColor: '#b3261e', pointRadius: 0, yAxisID: 'y' },
      { label: 'running', data: t.map(x => x.running), borderColor: '#2457c5', pointRadius: 0, yAxisID: 'y' },
      { label: 'adapters in GPU slots', data: t.map(x => x.adapters_in_slots), borderColor: '#3d9e6a', pointRadius: 0, yAxisID: 'y' },
      { label: 'KV cache used', data: t.map(x => 100 * x.kv_usage), borderColor: '#7a5cc7', pointRadius: 0, yAxisID: 'kv' }] },
    options: { scales: {
      x: axis('simulated time, s', { ticks: { maxTicksLimit: 12 } }),
      y: axis('sequences, adapters', { beginAtZero: true }),
      kv: axis('KV cache used, %', { position: 'right', min: 0, max: 100, grid: { drawOnChartArea: false } }) } },
  });
}

function summaryTable(s) {
  const rows = [
    ['requests arrived / finished', fmt(s.requests_arrived) + ' / ' + fmt(s.requests_finished)],
    ['rejected / timed out / unfinished', [s.requests_rejected, s.requests_timed_out, s.requests_unfinished].map(v => fmt(v)).join(' / ')],
    ['requests/s offered / achieved', fmt(s.offered.requests_per_s) + ' / ' + fmt(s.achieved.requests_per_s)],
    ['TTFT p50 / p90 / p99, ms', [s.ttft.p50_ms, s.ttft.p90_ms, s.ttft.p99_ms].map(v => fmt(v)).join(' / ')],
    ['inter-token p50 / p99, ms', fmt(s.itl.p50_ms) + ' / ' + fmt(s.itl.p99_ms)],
    ['starving (the study\'s test)', s.starving ? 'yes' : 'no'],
    ['adapter loads (from storage)', fmt(s.adapter_loads) + ' (' + fmt(s.adapter_storage_loads) + ')'],
    ['preemptions', fmt(s.preemptions)],
    ['KV hit rate, mean KV used', fmt(100 * s.kv_hit_rate) + '%, ' + fmt(100 * s.mean_kv_usage) + '%'],
  ];
  if (s.memory) rows.push(['KV cache', fmt(s.memory.kv_cache_tokens) + ' tokens (' + fmt(s.memory.kv_cache_gib) + ' GiB)']);
  return h('table', {}, h('tbody', {}, rows.map(r => h('tr', {}, h('th', { text: r[0] }), h('td', { class: 'num', text: r[1] })))));
}

function settingsText(settings) {
  return Object.entries(settings || {}).map(([k, v]) => k + '=' + v).join(', ') || '(base)';
}

function renderSweep(root, runs) {
  const detail = h('div', { id: 'sweep-detail' });
  const ok = runs.filter(r => !r.error);
  // the best configuration under the SLO; where none meets it, the closest
  const anyBest = runs.some(r => r.best);
  const marked = r => (anyBest ? r.best : r.closest);
  const mark = r => (anyBest ? ' (best)' : ' (closest to the SLO)');
  const table = h('table', { id: 'sweep-table' },
    h('thead', {}, h('tr', {}, ['configuration', 'SLO', 'output tok/s', 'TTFT p90, ms', 'inter-token p99, ms', ''].map((t, i) =>
      h('th', { class: i >= 2 && i <= 4 ? 'num' : null, text: t })))),
    h('tbody', {}, runs.map((r, i) => {
      if (r.error) return h('tr', {}, h('td', { text: settingsText(r.settings) }), h('td', { class: 'error', colspan: 5, text: r.error }));
      const s = r.summary;
      return h('tr', { class: marked(r) ? 'best' : null },
        h('td', { text: settingsText(r.settings) + (marked(r) ? mark(r) : '') }),
        h('td', { class: r.slo && r.slo.met ? 'ok' : 'error', text: r.slo ? (r.slo.met ? 'meets' : 'misses') : '–' }),
        h('td', { class: 'num', text: fmt(s.achieved.output_tokens_per_s) }),
        h('td', { class: 'num', text: fmt(s.ttft.p90_ms) }),
        h('td', { class: 'num', text: fmt(s.itl.p99_ms) }),
        h('td', {}, h('button', { type: 'button', class: 'secondary', text: 'open', onclick: () => renderRun(detail, r, 'sweep' + i) })));
    })));
  root.replaceChildren(
    h('div', { class: 'card' }, h('h2', { text: 'Sweep: ' + runs.length + ' configurations' }), h('div', { class: 'table-wrap' }, table)),
    h('div', { class: 'card' }, h('h2', { text: 'Throughput and TTFT by configuration' }), chartBox('sweep-chart')),
    detail);
  chart(document.getElementById('sweep-chart'), {
    type: 'bar',
    data: { labels: ok.map(r => settingsText(r.settings)), datasets: [
      { label: 'output tokens/s', data: ok.map(r => r.summary.achieved.output_tokens_per_s), backgroundColor: '#2457c5', yAxisID: 'y' },
      { type: 'line', label: 'TTFT p90, ms', data: ok.map(r => r.summary.ttft.p90_ms), borderColor: '#e0823d', yAxisID: 'ttft' }] },
    options: { scales: { y: axis('output tokens/s', { beginAtZero: true }),
      ttft: axis('TTFT p90, ms (log)', { type: 'logarithmic', position: 'right', grid: { drawOnChartArea: false } }) } },
  });
}

function renderCluster(root, doc, prefix) {
  const pre = prefix || 'cluster';
  const deps = doc.summary.deployments;
  const boxes = deps.map((d, i) => h('div', { id: pre + '-deployment-' + i }));
  const rows = deps.map(d => h('tr', {}, h('td', { text: d.name }),
    h('td', { text: doc.slo && doc.slo[d.name] ? (doc.slo[d.name].met ? 'meets' : 'misses') : '–' }),
    h('td', { class: 'num', text: fmt(d.achieved.output_tokens_per_s) }), h('td', { class: 'num', text: fmt(d.ttft.p90_ms) }),
    h('td', { class: 'num', text: fmt(d.replicas && d.replicas.mean) })));
  const table = h('table', {},
    h('thead', {}, h('tr', {}, ['deployment', 'SLO', 'output tok/s', 'TTFT p90, ms', 'replicas (mean)'].map(t => h('th', { text: t })))),
    h('tbody', {}, rows));
  const header = h('div', { class: 'card', id: pre }, h('h2', { text: 'Cluster: ' + doc.summary.name }),
    h('p', { text: 'GPU hours ' + fmt(doc.summary.gpu_hours) + ', cost ' + fmt(doc.summary.cost) }),
    // what to know about each traffic's inputs (lengths the caps change, prefixes a deployment will not cache)
    doc.notices ? h('ul', { id: pre + '-notices', class: 'notices' }, doc.notices.map(n =>
      h('li', { class: n.level === 'warning' ? 'error' : null, text: n.level + ': ' + n.message }))) : null,
    h('div', { class: 'table-wrap' }, table));
  const parts = [header];
  deps.forEach((d, i) => parts.push(h('h2', { text: 'Deployment ' + d.name }), boxes[i]));
  root.replaceChildren(...parts);
  // each deployment's verdict and charts, as for one replica (its timeline sums its replicas)
  deps.forEach((d, i) => renderRun(boxes[i], { slo: doc.slo && doc.slo[d.name], summary: d, model: d.router ? 'router ' + (typeof d.router === 'string' ? d.router : d.router.type) : null }, pre + i));
}

// ---- capacity search ----

async function renderCapacity() {
  const defaults = await api('GET', '/console/defaults');
  const spec = specEditor('capacity', 'Capacity spec (YAML, docs/capacity-search.md)', 'capacity', defaults.capacity);
  const workload = specEditor('capacity-workload', 'Its workload (the file the spec names)', 'workload', defaults.capacity_workload);
  const msg = h('p', { class: 'error', role: 'alert' });
  const run = h('button', { type: 'button', id: 'run-capacity', text: 'Search' });
  run.addEventListener('click', async () => {
    msg.textContent = '';
    run.disabled = true;
    try {
      const c = await checkSpec(spec);
      const w = await checkSpec(workload);
      if (!c || !w) return;
      const job = await api('POST', '/api/capacity-searches', { capacity: c, workload: w });
      location.hash = '#/job/' + job.id;
    } catch (e) {
      msg.replaceChildren(errorBox(e));
    } finally {
      run.disabled = false;
    }
  });
  page('Capacity search',
    h('div', { class: 'grid' }, h('div', { class: 'card' }, spec.el), h('div', { class: 'card' }, workload.el)),
    h('div', { class: 'card' }, h('p', { class: 'muted', text: 'Every candidate (pool x tp x replicas x slots x router) is searched for the highest rate it sustains within the SLO; the Pareto front trades cost for rate.' }),
      h('div', { class: 'row' }, run), msg));
}

function renderCapacityResult(root, doc) {
  const cands = doc.candidates.filter(c => !c.error);
  const detail = h('div', { class: 'card', id: 'candidate' }, h('p', { class: 'muted', text: 'Click a point to open its configuration.' }));
  const label = c => c.candidate.pool + ' tp' + c.candidate.tp + ' x' + c.candidate.replicas + ', ' + c.candidate.max_adapters + ' slots, ' + c.candidate.router.type;
  const open = c => detail.replaceChildren(h('h2', { text: label(c) }), kvTable(Object.assign({}, c.candidate, {
    router: c.candidate.router.type, sustainable_requests_per_s: c.sustainable_requests_per_s,
    sustainable_scale: c.sustainable_scale, meets_target: c.meets_target, pareto: c.pareto }),
  ['pool', 'gpu', 'tp', 'replicas', 'max_adapters', 'kv_cache_len', 'router', 'cost_per_hour', 'sustainable_requests_per_s', 'sustainable_scale', 'meets_target', 'pareto']));
  const pareto = cands.filter(c => c.pareto).sort((a, b) => a.candidate.cost_per_hour - b.candidate.cost_per_hour);
  root.replaceChildren(
    h('div', { class: 'card' }, h('h2', { text: doc.name + ': ' + doc.candidates.length + ' candidates, ' + pareto.length + ' on the Pareto front' }),
      chartBox('pareto')),
    detail,
    h('div', { class: 'card' }, h('h2', { text: 'The Pareto front' }), h('div', { class: 'table-wrap' }, h('table', { id: 'pareto-table' },
      h('thead', {}, h('tr', {}, ['candidate', 'cost/hour', 'sustainable req/s', 'meets target'].map(t => h('th', { text: t })))),
      h('tbody', {}, pareto.map(c => h('tr', {}, h('td', { text: label(c) }), h('td', { class: 'num', text: fmt(c.candidate.cost_per_hour) }),
        h('td', { class: 'num', text: fmt(c.sustainable_requests_per_s) }), h('td', { text: c.meets_target ? 'yes' : 'no' }))))))));
  const point = c => ({ x: c.candidate.cost_per_hour, y: c.sustainable_requests_per_s || 0, c });
  chart(document.getElementById('pareto'), {
    type: 'scatter',
    data: { datasets: [
      { label: 'Pareto front', data: pareto.map(point), backgroundColor: '#b3261e', borderColor: '#b3261e', showLine: true, pointRadius: 6 },
      { label: 'other candidates', data: cands.filter(c => !c.pareto).map(point), backgroundColor: '#9db4e8', pointRadius: 4 }] },
    options: {
      scales: { x: axis('cost, $ per hour', { beginAtZero: true }), y: axis('sustainable rate, requests/s', { beginAtZero: true }) },
      plugins: { tooltip: { callbacks: { label: ctx => label(ctx.raw.c) + ': ' + fmt(ctx.raw.y) + ' req/s at $' + fmt(ctx.raw.x) + '/h' } } },
      onClick: (ev, els) => { if (els.length) open(els[0].element.$context.raw.c); },
    },
  });
  if (pareto.length) open(pareto[0]);
}

// ---- studies: past jobs, comparison ----

async function renderStudies() {
  const list = h('div', { id: 'studies' });
  const compare = h('button', { type: 'button', id: 'compare', text: 'Compare the two selected', disabled: true });
  page('Studies', h('div', { class: 'card' }, h('div', { class: 'row' }, compare), list));
  let jobs;
  try {
    jobs = await api('GET', '/api/jobs?limit=100');
  } catch (e) {
    list.replaceChildren(errorBox(e));
    return;
  }
  const picked = [];
  const boxes = jobs.map(j => {
    const box = h('input', { type: 'checkbox', 'aria-label': 'select ' + j.id, disabled: !(j.kind === 'simulation' && j.status === 'succeeded') });
    box.addEventListener('change', () => {
      if (box.checked) picked.push(j.id); else picked.splice(picked.indexOf(j.id), 1);
      compare.disabled = picked.length !== 2;
    });
    return box;
  });
  compare.addEventListener('click', () => { location.hash = '#/compare/' + picked[0] + '/' + picked[1]; });
  list.replaceChildren(jobs.length === 0 ? h('p', { class: 'muted', text: 'No studies yet: run a what-if or ask for a plan.' })
    : h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, ['', 'job', 'kind', 'status', 'submitted'].map(t => h('th', { text: t })))),
      h('tbody', {}, jobs.map((j, i) => h('tr', {}, h('td', {}, boxes[i]),
        h('td', {}, h('a', { href: '#/job/' + j.id, text: j.id })), h('td', { text: j.kind }),
        h('td', { class: j.status === 'failed' ? 'error' : null, text: j.status }), h('td', { text: j.created_at })))))));
}

async function renderCompare(a, b) {
  page('Compare', h('div', { class: 'grid' }, h('div', { id: 'left' }), h('div', { id: 'right' })));
  for (const [id, side] of [[a, 'left'], [b, 'right']]) {
    const root = document.getElementById(side);
    try {
      const job = await api('GET', '/api/jobs/' + id);
      root.append(h('h2', {}, h('a', { href: '#/job/' + id, text: id })));
      const box = h('div', {});
      root.append(box);
      if (Array.isArray(job.result)) renderSweep(box, job.result);
      else if (job.result && job.result.summary && job.result.summary.deployments) renderCluster(box, job.result, side + '-cluster');
      else if (job.result && job.result.summary) renderRun(box, job.result, side);
      else box.append(h('p', { class: 'muted', text: 'not a what-if' }));
    } catch (e) {
      root.append(errorBox(e));
    }
  }
}

// ---- plans ----

async function renderPlans() {
  const defaults = await api('GET', '/console/defaults');
  const workload = specEditor('plan-workload', 'Workload (YAML)', 'workload', defaults.workload);
  // the objectives the planner knows (docs/placement.md)
  const objective = h('select', { id: 'objective' }, ['cost', 'throughput-per-gpu'].map(o => h('option', { value: o, text: o })));
  const verify = h('input', { type: 'checkbox', id: 'verify', checked: true });
  // optional: the deployment the plan is for (its model, GPU, replica settings and performance model)
  const deployment = specEditor('plan-deployment', 'Deployment (YAML, docs/deployment-spec.md): its model and GPU choose the plan\'s, and the twin verifies with its replica settings', 'deployment', defaults.deployment);
  const forDeployment = h('input', { type: 'checkbox', id: 'plan-for-deployment' });
  deployment.el.hidden = true;
  forDeployment.addEventListener('change', () => { deployment.el.hidden = !forDeployment.checked; });
  const msg = h('p', { class: 'error', role: 'alert' });
  const ask = h('button', { type: 'button', id: 'ask-plan', text: 'Ask the planner' });
  ask.addEventListener('click', async () => {
    msg.textContent = '';
    const w = await checkSpec(workload);
    if (!w) return;
    const body = { workload: w, objective: objective.value, verify: verify.checked };
    if (forDeployment.checked) {
      const d = await checkSpec(deployment);
      if (!d) return;
      body.deployment = d;
    }
    try {
      const job = await api('POST', '/api/plans', body);
      location.hash = '#/job/' + job.id;
    } catch (e) {
      msg.replaceChildren(errorBox(e));
    }
  });
  page('Plans', h('div', { class: 'card' }, workload.el,
    h('div', { class: 'row' }, h('label', { for: 'objective', text: 'Objective' }), objective,
      h('label', { for: 'verify' }, verify, ' verify with the twin'),
      h('label', { for: 'plan-for-deployment' }, forDeployment, ' for a deployment')),
    deployment.el,
    h('div', { class: 'row' }, ask), msg));
}

function kvTable(obj, keys) {
  return h('table', {}, h('tbody', {}, keys.filter(k => obj[k] !== undefined).map(k =>
    h('tr', {}, h('th', { text: k }), h('td', { class: 'num', text: typeof obj[k] === 'object' ? JSON.stringify(obj[k]) : fmt(obj[k]) })))));
}

function renderPlanResult(root, job) {
  const doc = job.result;
  const p = doc.plan;
  // the rules come per tree (served adapters, slots, the SLO), each a path of plain-word conditions
  const rules = p.rules && typeof p.rules === 'object' && !Array.isArray(p.rules) ? p.rules : { rules: p.rules || [] };
  const apply = h('div', { class: 'row', id: 'apply' });
  root.replaceChildren(...[
    h('div', { class: 'card', id: 'plan' }, h('h2', { text: 'Configuration' }),
      kvTable(p, ['model', 'adapters', 'pool', 'tp', 'max_adapters', 'kv_cache_len', 'replicas'])),
    h('div', { class: 'card' }, h('h2', { text: 'Predicted' }),
      doc.deployment ? h('p', { id: 'plan-deployment-name', text: 'For ' + doc.deployment + ': its model and GPU; the twin verifies with its replica settings and performance model.' }) : null,
      kvTable(p, ['throughput_tps', 'offered_tps', 'served_per_gpu', 'predicted_served_max', 'predicted_meets_slo']),
      (p.warnings || []).map(w => h('p', { class: 'error', text: w })),
      h('ul', { id: 'plan-notes' }, (doc.notes || []).map(n => h('li', { text: n })))),
    h('div', { class: 'card', id: 'rules' }, h('h2', { text: 'Why: the trees\' rules' }),
      Object.entries(rules).map(([tree, path]) => [h('h3', { text: tree }),
        h('ul', {}, (Array.isArray(path) ? path : [path]).map(r => h('li', { text: typeof r === 'string' ? r : JSON.stringify(r) })))])),
    doc.verification ? h('div', { class: 'card' }, h('h2', { text: 'Verification by the twin' }),
      h('p', { class: doc.confirmed ? 'ok' : 'error', text: doc.confirmed ? 'confirmed' : 'not confirmed' + (doc.corrected ? ': corrected configuration below'
        : doc.search_ended === 'one_adapter' ? ': no configuration meets the SLO, not even one adapter per GPU'
        : doc.search_ended === 'budget' ? ': the search budget ran out before a configuration met the SLO' : '') }),
      doc.answer_source === 'none' ? h('p', { id: 'plan-answer', class: 'error', text:
        'The twin found no configuration that meets the SLO: Apply is refused unless forced through the API ("force": true).' }) : null,
      doc.answer && doc.answer_source && doc.answer_source !== 'plan' ? h('p', { id: 'plan-answer', class: 'ok', text:
        'Apply uses the twin\'s answer (' + ({ corrected: 'the corrected configuration', improved: 'more adapters per GPU',
          better_tp: 'more adapters per GPU at tp ' + doc.answer.tp })[doc.answer_source] + '): ' + doc.answer.served_per_gpu
        + ' adapters a replica, max_adapters ' + doc.answer.max_adapters + ', tp ' + doc.answer.tp + ', pool ' + doc.answer.pool
        + ', ' + Math.round(doc.answer.throughput_tps) + ' tokens/s in the twin' }) : null,
      h('pre', { text: JSON.stringify(doc.corrected || doc.verification, null, 2) })) : null,
    h('div', { class: 'card' }, h('h2', { text: 'Apply to a deployment' }), apply)].filter(Boolean));
  if (!atLeast('operator')) {
    apply.append(h('p', { class: 'muted', text: 'Applying a plan (autoconfigure) needs the operator role.' }));
    return;
  }
  Promise.all([api('GET', '/api/deployments'), api('GET', '/api/compute-pools')]).then(([deps, pools]) => {
    const sel = h('select', { id: 'apply-to' }, deps.map(d => h('option', { value: d.name, text: d.name + ' (' + d.mode + ')' })));
    // the plan names a GPU type; the deployment goes onto a registry pool: its own, the plan's, or one chosen here
    const onto = h('select', { id: 'apply-pool' }, h('option', { value: '', text: 'its current pool' }),
      pools.map(x => h('option', { value: x.name, text: x.name + ' (' + x.gpu + ')' })));
    const msg = h('div', { role: 'alert', id: 'apply-result' });
    apply.append(sel, h('label', { for: 'apply-pool', text: 'onto' }), onto, h('button', { type: 'button', id: 'apply-plan', text: 'Apply (autoconfigure)', onclick: async () => {
      msg.textContent = '';
      try {
        const target = deps.find(d => d.name === sel.value);
        const chosen = onto.value ? [onto.value] : ((target && target.placement && target.placement.compute_pools) || []);
        const d = await api('POST', '/api/deployments/' + encodeURIComponent(sel.value) + '/autoconfigure', { plan: job.id, compute_pools: chosen });
        msg.className = 'ok';
        msg.textContent = 'Applied: ' + d.name + ' restarted with ' + JSON.stringify(d.compute_config);
      } catch (e) {
        msg.replaceChildren(errorBox(e));
      }
    } }), msg);
  }).catch(e => apply.append(errorBox(e)));
}

// ---- deployments ----

// where a deployment serves: every server instance's own report (GET /api/deployments lists them under instances)
function servingOn(d) {
  const all = d.instances || [];
  if (all.length === 0) {
    // a failed or stopped deployment has no reports; a running one without any means they cannot be read
    return d.status === 'running' || d.status === 'reconfiguring' ? 'no instance reports (Redis away?)' : 'none';
  }
  const serving = all.filter(i => i.state === 'serving').length;
  return 'serving on ' + serving + ' of ' + all.length + ' instance' + (all.length === 1 ? '' : 's');
}

function instanceFailures(d) {
  return h('ul', { id: 'instance-failures' }, (d.instances || []).filter(i => i.state === 'failed').map(i =>
    h('li', { class: 'error', text: i.host + ' (' + i.instance.slice(0, 8) + '): ' + (i.error || 'failed') + ', since ' + i.since })));
}

async function renderDeployments() {
  const list = h('div', {});
  const main = page('Deployments', h('div', { class: 'card' }, list));
  try {
    const deps = await api('GET', '/api/deployments');
    list.replaceChildren(deps.length === 0 ? h('p', { class: 'muted', text: 'No deployments.' }) : h('div', { class: 'table-wrap' }, h('table', { id: 'deployments' },
      h('thead', {}, h('tr', {}, ['name', 'model', 'mode', 'status', 'instances', 'pools'].map(t => h('th', { text: t })))),
      h('tbody', {}, deps.map(d => h('tr', {}, h('td', {}, h('a', { href: '#/deployment/' + encodeURIComponent(d.name), text: d.name })),
        h('td', { text: d.model }), h('td', { text: d.mode }), h('td', { text: d.status }),
        h('td', { text: servingOn(d) }),
        h('td', { text: ((d.placement || {}).compute_pools || []).join(', ') })))))));
  } catch (e) {
    list.replaceChildren(errorBox(e));
  }
  if (atLeast('operator')) main.append(await createDeploymentForm());
}

async function createDeploymentForm() {
  const [models, pools] = await Promise.all([api('GET', '/api/models'), api('GET', '/api/compute-pools')]);
  const name = h('input', { id: 'new-name', required: true, placeholder: 'name' });
  const model = h('select', { id: 'new-model' }, models.map(m => h('option', { value: m.name, text: m.name })));
  const pool = h('select', { id: 'new-pool' }, pools.filter(p => p.gpu !== 'cpu').map(p => h('option', { value: p.name, text: p.name + ' (' + p.gpus + ' x ' + p.gpu + ')' })));
  const slots = h('input', { id: 'new-slots', type: 'number', min: 0, value: 4, size: 5 });
  const scale = h('input', { id: 'new-scale', type: 'number', min: 0.001, step: 'any', value: 100, size: 6 });
  const msg = h('p', { role: 'alert' });
  return h('form', { class: 'card', id: 'create-deployment', onsubmit: async ev => {
    ev.preventDefault();
    msg.textContent = '';
    try {
      const d = await api('POST', '/api/deployments', { name: name.value, model: model.value, mode: 'simulated',
        compute_config: { max_adapters: Number(slots.value) }, placement: { compute_pools: [pool.value] }, time_scale: Number(scale.value) });
      location.hash = '#/deployment/' + encodeURIComponent(d.name);
    } catch (e) {
      msg.replaceChildren(errorBox(e));
    }
  } },
  h('h2', { text: 'New simulated deployment' }),
  h('p', { class: 'muted', text: 'The twin serves it on the pool\'s GPU profile, time_scale times faster than real time.' }),
  h('div', { class: 'row' }, name, model, pool, h('label', { for: 'new-slots', text: 'adapter slots' }), slots,
    h('label', { for: 'new-scale', text: 'time scale' }), scale, h('button', { type: 'submit', id: 'create', text: 'Create' })), msg);
}

async function renderDeployment(name) {
  const info = h('div', { id: 'deployment-info' });
  const adapters = h('div', { id: 'adapters' });
  const chatRoot = h('div', { id: 'chat' });
  page('Deployment ' + name, info,
    h('div', { class: 'card' }, h('h2', { text: 'Live: requests in flight, the queue and tokens/s' }), chartBox('live')),
    h('div', { class: 'card' }, h('h2', { text: 'Recent requests: TTFT and inter-token latency' }), chartBox('latency-live'),
      h('p', { class: 'muted', text: 'From the interactions log (your own requests unless you are an operator), written within seconds.' })),
    h('div', { class: 'card' }, h('h2', { text: 'Shadow twin: predicted against measured, per window' }),
      h('p', { id: 'shadow-alarm', class: 'muted', text: 'Reading the shadow twin…' }), chartBox('shadow'),
      h('ul', { id: 'shadow-events' })),
    h('div', { class: 'grid' }, h('div', { class: 'card' }, h('h2', { text: 'Adapters' }), adapters),
      h('div', { class: 'card' }, h('h2', { text: 'Playground' }), chatRoot)));
  let d;
  try {
    d = await api('GET', '/api/deployments/' + encodeURIComponent(name));
  } catch (e) {
    info.replaceChildren(errorBox(e));
    return;
  }
  const replicas = h('tbody', {});
  info.replaceChildren(h('div', { class: 'card' },
    h('p', { text: d.mode + ' · ' + d.status + ' · model ' + d.model + ' · pools ' + ((d.placement || {}).compute_pools || []).join(', ') }),
    h('p', { id: 'instances', text: servingOn(d) }), instanceFailures(d),
    h('div', { class: 'table-wrap' }, h('table', {}, h('thead', {}, h('tr', {},
      ['replica', 'state', 'in flight', 'waiting', 'running', 'steps', 'tokens', 'finished', 'preemptions', 'timed out'].map(t => h('th', { class: 'num', text: t })))), replicas))));
  const live = chart(document.getElementById('live'), {
    type: 'line',
    data: { labels: [], datasets: [
      { label: 'in flight', data: [], borderColor: '#2457c5', pointRadius: 0, yAxisID: 'y' },
      { label: 'waiting (queue)', data: [], borderColor: '#b3261e', pointRadius: 0, yAxisID: 'y' },
      { label: 'tokens/s', data: [], borderColor: '#3d9e6a', pointRadius: 0, yAxisID: 'tps' }] },
    options: { scales: { x: axis('time'), y: axis('requests', { beginAtZero: true }),
      tps: axis('tokens/s', { position: 'right', beginAtZero: true, grid: { drawOnChartArea: false } }) } },
  });
  let last = null;
  const poll = async () => {
    let cur;
    try { cur = await api('GET', '/api/deployments/' + encodeURIComponent(name)); } catch (e) { return; }
    const reps = cur.replicas || [];
    replicas.replaceChildren(...reps.map(r => h('tr', {}, [
      h('td', { class: 'num', text: fmt(r.replica) }),
      h('td', { class: r.state === 'serving' || !r.state ? '' : 'error',
        text: (r.state || 'serving') + (r.restarts ? ' (' + r.restarts + (r.restarts === 1 ? ' restart)' : ' restarts)') : ''),
        title: r.error || '' }),
      ...[r.in_flight, r.waiting, r.running, r.steps, r.generated_tokens, r.finished, r.preemptions, r.timed_out]
        .map(v => h('td', { class: 'num', text: fmt(v) }))])));
    const tokens = reps.reduce((a, r) => a + (r.generated_tokens || 0), 0);
    const now = Date.now();
    const tps = last ? (tokens - last.tokens) / ((now - last.at) / 1000) : 0;
    last = { tokens, at: now };
    live.data.labels.push(new Date(now).toLocaleTimeString());
    live.data.datasets[0].data.push(reps.reduce((a, r) => a + (r.in_flight || 0), 0));
    live.data.datasets[1].data.push(reps.reduce((a, r) => a + (r.waiting || 0), 0));
    live.data.datasets[2].data.push(Math.max(0, tps));
    if (live.data.labels.length > 120) { live.data.labels.shift(); live.data.datasets.forEach(x => x.data.shift()); }
    live.update();
    renderAdapters(adapters, name, cur);
  };
  const lat = chart(document.getElementById('latency-live'), {
    type: 'line',
    data: { labels: [], datasets: [
      { label: 'TTFT', data: [], borderColor: '#e0823d', backgroundColor: '#e0823d', pointRadius: 2, showLine: false },
      { label: 'inter-token (mean of the request)', data: [], borderColor: '#3d9e6a', backgroundColor: '#3d9e6a', pointRadius: 2, showLine: false }] },
    options: { scales: { x: axis('request started'), y: axis('ms (log scale)', { type: 'logarithmic' }) } },
  });
  const pollLatency = async () => {
    let rows;
    try { rows = (await api('GET', '/api/interactions?deployment=' + encodeURIComponent(name) + '&limit=200')).data; } catch (e) { return; }
    rows = rows.filter(r => r.ttft_ms !== null && r.ttft_ms !== undefined).sort((a, b) => (a.started_at < b.started_at ? -1 : 1));
    lat.data.labels = rows.map(r => new Date(r.started_at).toLocaleTimeString());
    lat.data.datasets[0].data = rows.map(r => r.ttft_ms);
    lat.data.datasets[1].data = rows.map(r => (r.completion_tokens > 1 && r.latency_ms !== null
      ? (r.latency_ms - r.ttft_ms) / (r.completion_tokens - 1) : null));
    lat.update();
  };
  // the shadow twin (compute_config.shadow): each judged window's median TTFT and mean inter-token latency, the
  // twin's dashed beside the deployment's, and the drift alarm with its cause
  const dashed = [5, 4];
  const shadow = chart(document.getElementById('shadow'), {
    type: 'line',
    data: { labels: [], datasets: [
      { label: 'TTFT p50, measured', data: [], borderColor: '#e0823d', pointRadius: 2 },
      { label: 'TTFT p50, twin', data: [], borderColor: '#e0823d', borderDash: dashed, pointRadius: 0 },
      { label: 'inter-token mean, measured', data: [], borderColor: '#3d9e6a', pointRadius: 2 },
      { label: 'inter-token mean, twin', data: [], borderColor: '#3d9e6a', borderDash: dashed, pointRadius: 0 }] },
    options: { scales: { x: axis('window end, s since the deployment started'), y: axis('ms (log scale)', { type: 'logarithmic' }) } },
  });
  const pollShadow = async () => {
    let s;
    try { s = await api('GET', '/api/deployments/' + encodeURIComponent(name) + '/shadow?windows=60'); } catch (e) { return; }
    const alarm = document.getElementById('shadow-alarm');
    if (!s.enabled) {
      alarm.className = 'muted';
      alarm.dataset.state = 'off';
      alarm.textContent = 'Shadow mode is off: set compute_config.shadow to run the twin beside this deployment (docs/serve.md).';
      return;
    }
    const ws = (s.windows || []).filter(w => w.judged);
    shadow.data.labels = ws.map(w => fmt(w.end_s));
    shadow.data.datasets[0].data = ws.map(w => w.measured.ttft_p50_ms);
    shadow.data.datasets[1].data = ws.map(w => w.predicted.ttft_p50_ms);
    shadow.data.datasets[2].data = ws.map(w => w.measured.itl_mean_ms);
    shadow.data.datasets[3].data = ws.map(w => w.predicted.itl_mean_ms);
    shadow.update();
    alarm.dataset.state = s.alarm.active ? 'alarm' : 'ok';
    alarm.className = s.alarm.active ? 'error' : '';
    alarm.textContent = s.alarm.active
      ? 'Drift alarm (' + s.alarm.cause + ') since window ' + s.alarm.since_window + ': ' + s.alarm.detail
      : 'No drift alarm: ' + ws.length + ' windows judged, ' + ws.filter(w => w.drifting).length + ' drifting (bound: a factor of '
        + fmt(1 + s.settings.drift_bound) + ' either way, ' + s.settings.drift_windows + ' windows in a row).';
    document.getElementById('shadow-events').replaceChildren(...(s.events || []).map(e => h('li', {
      text: 'window ' + e.window + ': ' + e.kind + (e.cause ? ' (' + e.cause + ')' : '') + ', ' + e.detail })));
  };
  await poll();
  await pollLatency();
  await pollShadow();
  state.timers.push(setInterval(poll, 2000));
  state.timers.push(setInterval(pollLatency, 5000));
  state.timers.push(setInterval(pollShadow, 5000));
  renderChat(chatRoot, name);
}

function renderAdapters(root, name, d) {
  const reps = d.replicas || [];
  const key = JSON.stringify([d.adapters, reps.map(r => [r.adapters_in_slots, r.adapters_in_host])]);
  if (root.dataset.loaded === key) return;
  root.dataset.loaded = key;
  // where each adapter is: in a GPU slot or in host memory, on how many replicas
  const where = a => {
    const slots = reps.filter(r => (r.adapters_in_slots || []).includes(a)).length;
    const host = reps.filter(r => (r.adapters_in_host || []).includes(a)).length;
    return slots ? 'in GPU slots on ' + slots + ' of ' + reps.length : host ? 'in host memory on ' + host + ' of ' + reps.length : 'on storage';
  };
  const rows = (d.adapters || []).map(a => h('li', {}, a, ' ', h('span', { class: 'muted', text: '(' + where(a) + ')' }), ' ', atLeast('operator') ? h('button', { type: 'button', class: 'secondary', text: 'unload', onclick: async () => {
    try { await api('POST', '/v1/unload_lora_adapter', { lora_name: a, model: name }); delete root.dataset.loaded; } catch (e) { root.append(errorBox(e)); }
  } }) : null));
  root.replaceChildren(h('ul', {}, rows));
  if (atLeast('operator')) {
    const lora = h('input', { id: 'lora-name', placeholder: 'adapter name' });
    const rank = h('input', { id: 'lora-rank', type: 'number', min: 1, value: 16, size: 4 });
    const msg = h('p', { role: 'alert' });
    root.append(h('div', { class: 'row' }, lora, h('label', { for: 'lora-rank', text: 'rank' }), rank,
      h('button', { type: 'button', id: 'load-adapter', text: 'Load', onclick: async () => {
        msg.textContent = '';
        try {
          await api('POST', '/v1/load_lora_adapter', { lora_name: lora.value, rank: Number(rank.value), model: name });
          delete root.dataset.loaded;
        } catch (e) { msg.replaceChildren(errorBox(e)); }
      } })), msg);
  }
}

async function renderChat(root, name) {
  let models;
  try {
    models = (await api('GET', '/v1/models')).data.filter(m => m.id === name || m.id.startsWith(name + ':'));
  } catch (e) {
    root.replaceChildren(errorBox(e));
    return;
  }
  if (models.length === 0) {
    root.replaceChildren(h('p', { class: 'error', role: 'alert', id: 'chat-refused',
      text: 'Refused: your key has no grant on deployment ' + name + ' (the API answers 403 for it).' }));
    return;
  }
  const model = h('select', { id: 'chat-model' }, models.map(m => h('option', { value: m.id, text: m.id })));
  const input = h('input', { id: 'chat-input', size: 40, placeholder: 'Say something' });
  const maxTokens = h('input', { id: 'chat-max', type: 'number', min: 1, value: 32, size: 4 });
  const log = h('div', { class: 'chat-log', id: 'chat-log' });
  const messages = [];
  const send = h('button', { type: 'submit', id: 'chat-send', text: 'Send' });
  root.replaceChildren(h('form', { onsubmit: async ev => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = '';
    send.disabled = true;
    messages.push({ role: 'user', content: text });
    log.append(h('div', { class: 'user', text: '> ' + text }));
    const out = h('div', { class: 'assistant' });
    log.append(out);
    try {
      const reply = await streamChat(model.value, messages, Number(maxTokens.value), piece => {
        out.textContent += piece;
        log.scrollTop = log.scrollHeight;
      });
      messages.push({ role: 'assistant', content: reply });
      out.dataset.done = 'true';
    } catch (e) {
      out.replaceChildren(errorBox(e));
    } finally {
      send.disabled = false;
    }
  } }, h('div', { class: 'row' }, model, h('label', { for: 'chat-max', text: 'max tokens' }), maxTokens), log,
  h('div', { class: 'row' }, input, send)));
}

// streams a chat completion (server-sent events), calling onPiece with each piece of text; returns the whole
async function streamChat(model, messages, maxTokens, onPiece) {
  const r = await fetch('/v1/chat/completions', {
    method: 'POST', credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': state.csrf },
    body: JSON.stringify({ model, messages, max_tokens: maxTokens, stream: true }),
  });
  if (!r.ok) {
    let body = null;
    try { body = await r.json(); } catch (e) { /* not JSON */ }
    throw new ApiError(r.status, body);
  }
  const reader = r.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let all = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return all;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      for (const line of event.split('\n')) {
        if (!line.startsWith('data: ')) continue;
        const data = line.slice(6);
        if (data === '[DONE]') return all;
        const chunk = JSON.parse(data);
        if (chunk.error) throw new ApiError(500, chunk);
        const piece = chunk.choices && chunk.choices[0] && chunk.choices[0].delta && chunk.choices[0].delta.content;
        if (piece) { all += piece; onPiece(piece); }
      }
    }
  }
}

// ---- admin ----

async function renderAdmin() {
  const keys = h('div', { id: 'keys' });
  const grants = h('div', { id: 'grants' });
  const usage = h('div', { id: 'usage' });
  const log = h('div', { id: 'interactions' });
  page('Admin',
    h('div', { class: 'grid' }, h('div', { class: 'card' }, h('h2', { text: 'Keys' }), keys),
      h('div', { class: 'card' }, h('h2', { text: 'Grants' }), grants)),
    h('div', { class: 'card' }, h('h2', { text: 'Usage, last hour' }), usage),
    h('div', { class: 'card' }, h('h2', { text: 'Interactions' }), log));
  try {
    await Promise.all([renderKeys(keys), renderGrants(grants), renderUsage(usage), renderInteractions(log)]);
  } catch (e) {
    document.getElementById('main').append(errorBox(e));
  }
}

async function renderKeys(root) {
  let list;
  try { list = await api('GET', '/api/keys'); } catch (e) { root.replaceChildren(errorBox(e)); return; }
  const user = h('input', { id: 'key-user', placeholder: 'user' });
  const role = h('select', { id: 'key-role' }, ROLES.map(r => h('option', { value: r, text: r })));
  const shown = h('p', { role: 'alert', id: 'new-key' });
  root.replaceChildren(h('div', { class: 'table-wrap' }, h('table', {}, h('thead', {}, h('tr', {}, ['id', 'prefix', 'user', 'role', 'revoked', ''].map(t => h('th', { text: t })))),
    h('tbody', {}, list.map(k => h('tr', {}, h('td', { text: k.id }), h('td', {}, h('code', { text: k.prefix })), h('td', { text: k.user }),
      h('td', { text: k.role }), h('td', { text: k.revoked_at || '' }),
      h('td', {}, k.revoked_at ? null : h('button', { type: 'button', class: 'secondary', text: 'revoke', onclick: async () => {
        try { await api('DELETE', '/api/keys/' + k.id); renderKeys(root); } catch (e) { root.append(errorBox(e)); }
      } }))))))),
  h('div', { class: 'row' }, user, role, h('button', { type: 'button', id: 'create-key', text: 'Create key', onclick: async () => {
    try {
      const k = await api('POST', '/api/keys', { user: user.value, role: role.value });
      await renderKeys(root);
      root.append(h('p', { class: 'ok', id: 'new-key', text: 'New key for ' + k.user + ' (shown once): ' + k.key }));
    } catch (e) { shown.replaceChildren(errorBox(e)); }
  } })), shown);
}

async function renderGrants(root) {
  let list;
  try { list = await api('GET', '/api/permissions'); } catch (e) { root.replaceChildren(errorBox(e)); return; }
  const user = h('input', { id: 'grant-user', placeholder: 'user' });
  const dep = h('input', { id: 'grant-deployment', placeholder: 'deployment' });
  const adapter = h('input', { id: 'grant-adapter', placeholder: 'adapter (empty: all)' });
  const msg = h('p', { role: 'alert' });
  root.replaceChildren(h('div', { class: 'table-wrap' }, h('table', {}, h('thead', {}, h('tr', {}, ['user', 'deployment', 'adapter', ''].map(t => h('th', { text: t })))),
    h('tbody', {}, list.map(g => h('tr', {}, h('td', { text: g.user }), h('td', { text: g.deployment }), h('td', { text: g.adapter || 'all' }),
      h('td', {}, h('button', { type: 'button', class: 'secondary', text: 'revoke', onclick: async () => {
        try { await api('DELETE', '/api/permissions/' + g.id); renderGrants(root); } catch (e) { root.append(errorBox(e)); }
      } }))))))),
  h('div', { class: 'row' }, user, dep, adapter, h('button', { type: 'button', id: 'create-grant', text: 'Grant', onclick: async () => {
    const body = { user: user.value, deployment: dep.value };
    if (adapter.value) body.adapter = adapter.value;
    try { await api('POST', '/api/permissions', body); renderGrants(root); } catch (e) { msg.replaceChildren(errorBox(e)); }
  } })), msg);
}

async function renderUsage(root) {
  // usage per deployment, per adapter (deployment:adapter) and per key, as the API counts it
  const [deps, models, keys] = await Promise.all([api('GET', '/api/deployments'), api('GET', '/v1/models'), api('GET', '/api/keys')]);
  const options = [
    ...deps.map(d => ['deployment=' + encodeURIComponent(d.name), 'deployment ' + d.name]),
    ...models.data.filter(m => m.id.includes(':')).map(m => ['adapter=' + encodeURIComponent(m.id), 'adapter ' + m.id]),
    ...keys.filter(k => !k.revoked_at).map(k => ['key=' + k.id, 'key ' + k.prefix + '… (' + k.user + ')'])];
  const pick = h('select', { id: 'usage-dimension' }, options.map(([v, t]) => h('option', { value: v, text: t })));
  root.replaceChildren(h('div', { class: 'row' }, h('label', { for: 'usage-dimension', text: 'Usage of' }), pick), chartBox('usage-chart'));
  const draw = async () => {
    if (!pick.value) return;
    const u = await api('GET', '/api/usage?' + pick.value + '&minutes=60');
    const old = Chart.getChart('usage-chart');
    if (old) old.destroy();
    chart(document.getElementById('usage-chart'), {
      type: 'bar',
      data: { labels: u.minutes.map(m => m.minute.slice(8, 10) + ':' + m.minute.slice(10, 12)), datasets: [
        { label: 'completion tokens', data: u.minutes.map(m => m.completion_tokens), backgroundColor: '#2457c5', yAxisID: 'y' },
        { label: 'requests', data: u.minutes.map(m => m.requests), backgroundColor: '#e0823d', yAxisID: 'req' }] },
      options: { scales: { x: axis('minute (UTC)'), y: axis('tokens', { beginAtZero: true }),
        req: axis('requests', { position: 'right', beginAtZero: true, grid: { drawOnChartArea: false } }) } },
    });
  };
  pick.addEventListener('change', draw);
  await draw();
}

async function renderInteractions(root) {
  const page = await api('GET', '/api/interactions?limit=50');
  root.replaceChildren(h('div', { class: 'table-wrap' }, h('table', {}, h('thead', {}, h('tr', {},
    ['started', 'deployment', 'adapter', 'key', 'status', 'prompt', 'completion', 'TTFT, ms'].map(t => h('th', { text: t })))),
  h('tbody', {}, page.data.map(r => h('tr', {}, h('td', { text: r.started_at }), h('td', { text: r.deployment }), h('td', { text: r.adapter || '' }),
    h('td', { text: r.key_id }), h('td', { text: r.status }), h('td', { class: 'num', text: fmt(r.prompt_tokens) }),
    h('td', { class: 'num', text: fmt(r.completion_tokens) }), h('td', { class: 'num', text: fmt(r.ttft_ms) })))))));
}

// ---- routing ----

async function route() {
  clearTimers();
  const parts = (location.hash || '#/whatif').slice(2).split('/').map(decodeURIComponent);
  if (!state.me && parts[0] !== 'signin') {
    try {
      signedIn(await api('GET', '/console/session'));
    } catch (e) {
      location.hash = '#/signin';
      return;
    }
  }
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.page === parts[0]);
  try {
    switch (parts[0]) {
      case 'signin': return renderSignIn();
      case 'whatif': return await renderWhatIf();
      case 'job': return await renderJob(parts[1]);
      case 'studies': return await renderStudies();
      case 'compare': return await renderCompare(parts[1], parts[2]);
      case 'plans': return await renderPlans();
      case 'capacity': return await renderCapacity();
      case 'deployments': return await renderDeployments();
      case 'deployment': return await renderDeployment(parts[1]);
      case 'admin': return await renderAdmin();
      default: return page('Not found', h('p', { text: 'No page ' + location.hash }));
    }
  } catch (e) {
    page('Error', errorBox(e));
  }
}

window.addEventListener('hashchange', route);
document.getElementById('signout').addEventListener('click', signOut);
route();
