import { useLayoutEffect, useMemo, useRef, useState } from 'react';
import { api } from './api.js';
import { usePoll } from './hooks.js';
import { Badge, Card, Empty, ErrorBox, Loading, PageHeader } from './ui.jsx';
import { fmtDuration, fmtInt, fmtTime, relTime } from './util.js';

const MAX_COLUMNS = 30;
const PRIORITY = ['failed', 'retrying', 'running', 'queued', 'success', 'skipped'];
const STATES = ['success', 'failed', 'running', 'queued', 'retrying', 'skipped'];

function worst(states) {
  let best = null;
  for (const s of states) {
    const i = PRIORITY.indexOf(s);
    const b = PRIORITY.indexOf(best);
    if (best == null || (i >= 0 && (b < 0 || i < b))) best = s;
  }
  return best;
}

function stepsOf(run, model) {
  return (run.steps || []).filter((s) => s.model === model);
}

function cellTitle(run, model, steps, state) {
  const lines = [model + ' · ' + state, 'run #' + run.id + ' (' + run.trigger + ') · ' + fmtTime(run.logical_time)];
  for (const s of steps.slice(0, 6)) {
    const parts = [];
    if (s.start || s.end) parts.push((s.start || '') + ' → ' + (s.end || ''));
    parts.push(s.state);
    if (s.duration_ms != null) parts.push(fmtDuration(s.duration_ms));
    if (s.rows != null) parts.push(fmtInt(s.rows) + ' rows');
    if (s.attempts > 1) parts.push(s.attempts + ' attempts');
    lines.push(parts.join(' · '));
    if (s.error) lines.push('error: ' + String(s.error).slice(0, 200));
  }
  if (steps.length > 6) lines.push('… ' + (steps.length - 6) + ' more steps');
  return lines.join('\n');
}

export default function Runs({ route }) {
  const runsQ = usePoll(() => api.runs(50), 3000, []);
  const modelsQ = usePoll(() => api.models(), 30000, []);
  const [sel, setSel] = useState(null); // {id, model}
  const [lastRun, setLastRun] = useState(null);

  const runs = useMemo(() => (runsQ.data && runsQ.data.runs) || [], [runsQ.data]);
  const modelList = useMemo(() => (modelsQ.data && modelsQ.data.models) || [], [modelsQ.data]);
  const columns = useMemo(() => runs.slice(0, MAX_COLUMNS).slice().reverse(), [runs]); // oldest left, newest right
  const rows = useMemo(() => {
    const names = modelList.map((m) => m.name);
    const seen = new Set(names);
    const extra = new Set();
    for (const r of columns) for (const s of r.steps || []) if (!seen.has(s.model)) extra.add(s.model);
    return [...names, ...[...extra].sort()];
  }, [modelList, columns]);
  const maxDuration = useMemo(() => Math.max(1, ...columns.map((r) => Number(r.duration_ms) || 0)), [columns]);

  const selectedRun = sel ? runs.find((r) => r.id === sel.id) || (lastRun && lastRun.id === sel.id ? lastRun : null) : null;
  const select = (run, model) => {
    setSel({ id: run.id, model: model || null });
    setLastRun(run);
  };

  const modelFilter = route && route.query ? route.query.get('model') : null;

  // The newest runs are on the right: keep the grid scrolled there unless the user scrolled away,
  // and bring a selected cell into view when the detail panel opens.
  const scrollRef = useRef(null);
  const stickRight = useRef(true);
  const onScroll = (e) => {
    const el = e.currentTarget;
    stickRight.current = el.scrollLeft + el.clientWidth >= el.scrollWidth - 4;
  };
  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (el && stickRight.current) el.scrollLeft = el.scrollWidth;
  }, [columns]);
  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (!el || !sel) return;
    const cell = el.querySelector('th.run-col.sel');
    if (cell) cell.scrollIntoView({ block: 'nearest', inline: 'nearest' });
    stickRight.current = el.scrollLeft + el.clientWidth >= el.scrollWidth - 4;
  }, [sel]);

  return (
    <div className="page runs-page">
      <PageHeader title="Runs" sub={runsQ.data ? runs.length + ' recent runs · ' + rows.length + ' models · refreshing every 3 s' : null}>
        <div className="legend-states">
          {STATES.map((s) => <span key={s} className="legend-item"><span className={'sq s-' + s} />{s}</span>)}
        </div>
      </PageHeader>
      <ErrorBox error={runsQ.error} />
      <ErrorBox error={modelsQ.error} />
      <RunActions models={modelList} onCreated={(run) => { if (run) select(run); runsQ.refresh(); }} />
      <div className="runs-body">
        <Card title="Grid" className="runs-grid-card" bodyClass="flush"
          actions={<span className="muted small">columns: runs, oldest → newest · rows: models</span>}>
          {runsQ.loading && !runsQ.data && <Loading />}
          {runsQ.data && runs.length === 0 && rows.length === 0 && <Empty>No models and no runs yet.</Empty>}
          {runsQ.data && (runs.length > 0 || rows.length > 0) && (
            <div className="runs-scroll" ref={scrollRef} onScroll={onScroll}>
              <table className="runs-grid" data-testid="runs-grid">
                <thead>
                  <tr className="dur-row">
                    <th className="model-col" />
                    {columns.map((r) => (
                      <th key={r.id} className={'run-col' + (sel && sel.id === r.id ? ' sel' : '')}>
                        <button type="button" className="dur-btn" onClick={() => select(r)} data-testid={'run-' + r.id}
                          title={'run #' + r.id + ' · ' + r.state + ' · ' + r.trigger + '\n' + fmtTime(r.created_at) + '\n' + fmtDuration(r.duration_ms)}>
                          <span className={'dur-bar s-' + r.state}
                            style={{ height: Math.max(3, Math.round(((Number(r.duration_ms) || 0) / maxDuration) * 36)) + 'px' }} />
                        </button>
                      </th>
                    ))}
                  </tr>
                  <tr className="id-row">
                    <th className="model-col">model</th>
                    {columns.map((r) => (
                      <th key={r.id} className={'run-col' + (sel && sel.id === r.id ? ' sel' : '')} title={r.trigger}>
                        <span className="run-id">{r.id}</span>
                        <span className={'trig trig-' + r.trigger}>{String(r.trigger || '').charAt(0)}</span>
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {rows.map((m) => (
                    <tr key={m} className={(sel && sel.model === m ? 'sel-row' : '') + (modelFilter === m ? ' hl-row' : '')}>
                      <th className="model-col" title={m}>{m}</th>
                      {columns.map((r) => {
                        const steps = stepsOf(r, m);
                        if (steps.length === 0) return <td key={r.id} className={'run-col' + (sel && sel.id === r.id ? ' sel' : '')}><span className="cell none" /></td>;
                        const state = worst(steps.map((s) => s.state));
                        const selected = sel && sel.id === r.id && sel.model === m;
                        return (
                          <td key={r.id} className={'run-col' + (sel && sel.id === r.id ? ' sel' : '')}>
                            <button type="button" className={'cell s-' + state + (selected ? ' selected' : '')}
                              data-testid={'cell-' + r.id + '-' + m} data-state={state}
                              title={cellTitle(r, m, steps, state)} aria-label={m + ' in run ' + r.id + ': ' + state}
                              onClick={() => select(r, m)} />
                          </td>
                        );
                      })}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </Card>
        {sel && (
          <RunDetail key={sel.id} run={selectedRun} runId={sel.id} model={sel.model} onClose={() => setSel(null)}
            onRetried={(run) => { if (run) select(run); runsQ.refresh(); }} />
        )}
      </div>
    </div>
  );
}

function RunActions({ models, onCreated }) {
  const [picked, setPicked] = useState([]);
  const [selector, setSelector] = useState('');
  const [msg, setMsg] = useState(null);
  const [err, setErr] = useState(null);
  const [busy, setBusy] = useState(false);
  const [bf, setBf] = useState({ model: '', from: '', to: '', downstream: false });
  const [bfMsg, setBfMsg] = useState(null);
  const [bfErr, setBfErr] = useState(null);

  const trigger = async () => {
    setMsg(null);
    setErr(null);
    const list = [...picked, ...selector.split(/[\s,]+/).filter(Boolean)];
    if (list.length === 0) {
      setErr('Pick at least one model (or type a selector such as +daily_top).');
      return;
    }
    setBusy(true);
    try {
      const run = await api.triggerRun(list);
      setMsg('Run #' + (run && run.id) + ' ' + ((run && run.state) || 'queued') + ': ' + list.join(', '));
      onCreated(run);
    } catch (e) {
      setErr(e.message);
    } finally {
      setBusy(false);
    }
  };

  const backfill = async () => {
    setBfMsg(null);
    setBfErr(null);
    const model = bf.model || (models[0] && models[0].name);
    if (!model || !bf.from || !bf.to) {
      setBfErr('A backfill needs a model, a from date and a to date.');
      return;
    }
    setBusy(true);
    try {
      const res = await api.backfill({ model, from: bf.from, to: bf.to, downstream: bf.downstream });
      const created = (res && res.runs) || [];
      setBfMsg('Created ' + created.length + ' run' + (created.length === 1 ? '' : 's') +
        (created.length ? ' (#' + created.map((r) => r.id).join(', #') + ')' : '') + '.');
      onCreated(created[created.length - 1]);
    } catch (e) {
      setBfErr(e.message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="run-actions">
      <Card title="Trigger a run" className="action-card">
        <div className="form-row">
          <select multiple data-testid="trigger-models" size={Math.max(2, Math.min(4, models.length || 2))}
            value={picked} onChange={(e) => setPicked([...e.target.selectedOptions].map((o) => o.value))}>
            {models.map((m) => <option key={m.name} value={m.name}>{m.name}</option>)}
          </select>
          <div className="form-col">
            <input type="text" className="mono" placeholder="or selectors: +model model+" value={selector}
              onChange={(e) => setSelector(e.target.value)} data-testid="trigger-selector" />
            <button type="button" className="btn primary" data-testid="trigger" onClick={trigger} disabled={busy}>Trigger</button>
          </div>
        </div>
        {msg && <div className="ok-text small" data-testid="trigger-message">{msg}</div>}
        {err && <div className="error-box small" role="alert" data-testid="trigger-error">{err}</div>}
      </Card>
      <Card title="Backfill" className="action-card">
        <div className="form-row wrap">
          <select data-testid="backfill-model" value={bf.model || (models[0] ? models[0].name : '')}
            onChange={(e) => setBf({ ...bf, model: e.target.value })}>
            {models.map((m) => <option key={m.name} value={m.name}>{m.name}</option>)}
          </select>
          <label className="ctl">from <input type="date" data-testid="backfill-from" value={bf.from} onChange={(e) => setBf({ ...bf, from: e.target.value })} /></label>
          <label className="ctl">to <input type="date" data-testid="backfill-to" value={bf.to} onChange={(e) => setBf({ ...bf, to: e.target.value })} /></label>
          <label className="ctl check"><input type="checkbox" data-testid="backfill-downstream" checked={bf.downstream}
            onChange={(e) => setBf({ ...bf, downstream: e.target.checked })} /> downstream</label>
          <button type="button" className="btn" data-testid="backfill" onClick={backfill} disabled={busy}>Backfill</button>
        </div>
        {bfMsg && <div className="ok-text small" data-testid="backfill-message">{bfMsg}</div>}
        {bfErr && <div className="error-box small" role="alert" data-testid="backfill-error">{bfErr}</div>}
      </Card>
    </div>
  );
}

function RunDetail({ run, runId, model, onClose, onRetried }) {
  const active = run && (run.state === 'running' || run.state === 'queued');
  const log = usePoll(() => api.runLog(runId), active ? 3000 : 0, [runId]);
  const [retryErr, setRetryErr] = useState(null);
  const [retrying, setRetrying] = useState(false);

  const retry = async () => {
    setRetryErr(null);
    setRetrying(true);
    try {
      const r = await api.retryRun(runId);
      onRetried(r);
    } catch (e) {
      setRetryErr(e.message);
    } finally {
      setRetrying(false);
    }
  };

  const lines = (log.data && log.data.lines) || [];
  return (
    <aside className="run-detail card" data-testid="run-detail" data-run={runId}>
      <header className="card-h">
        <h2>Run #{runId} {run && <Badge state={run.state} />}</h2>
        <div className="card-actions">
          {run && run.state === 'failed' && (
            <button type="button" className="btn primary small" data-testid="retry" onClick={retry} disabled={retrying}>
              {retrying ? 'Retrying…' : 'Retry'}
            </button>
          )}
          <button type="button" className="icon-btn" onClick={onClose} aria-label="Close">×</button>
        </div>
      </header>
      <div className="card-b detail-body">
        {retryErr && <div className="error-box" role="alert">{retryErr}</div>}
        {!run && <div className="muted small">This run is no longer in the latest 50.</div>}
        {run && (
          <>
            <dl className="kv">
              <dt>Trigger</dt><dd>{run.trigger}</dd>
              <dt>Selection</dt><dd className="mono">{(run.selection || []).join(' ') || '—'}</dd>
              <dt>Logical time</dt><dd>{fmtTime(run.logical_time)}</dd>
              <dt>Created</dt><dd title={run.created_at}>{fmtTime(run.created_at)} <span className="muted">({relTime(run.created_at)})</span></dd>
              <dt>Started</dt><dd>{fmtTime(run.started_at)}</dd>
              <dt>Ended</dt><dd>{fmtTime(run.ended_at)}</dd>
              <dt>Duration</dt><dd>{fmtDuration(run.duration_ms)}</dd>
            </dl>
            {run.error && <pre className="error-pre">{run.error}</pre>}
            <h3>Steps</h3>
            <div className="steps">
              {(run.steps || []).map((s, i) => (
                <div key={i} className={'step' + (model === s.model ? ' hl' : '')} data-model={s.model}>
                  <div className="step-h">
                    <span className={'sq s-' + s.state} />
                    <span className="strong">{s.model}</span>
                    <Badge state={s.state} />
                    <span className="muted small">{s.start}{s.end ? ' → ' + s.end : ''}</span>
                  </div>
                  <div className="step-meta small">
                    <span>{fmtDuration(s.duration_ms)}</span>
                    <span>{s.rows != null ? fmtInt(s.rows) + ' rows' : '— rows'}</span>
                    <span>{s.attempts} attempt{s.attempts === 1 ? '' : 's'}</span>
                    {s.next_attempt_at && <span className="warn-text">next attempt {relTime(s.next_attempt_at)}</span>}
                  </div>
                  {s.error && <pre className="error-pre">{s.error}</pre>}
                  {(s.checks || []).length > 0 && (
                    <table className="grid checks">
                      <thead><tr><th>Check</th><th>Table</th><th>Kind</th><th>Status</th><th className="num">Failing</th></tr></thead>
                      <tbody>
                        {s.checks.map((c, j) => (
                          <tr key={j} title={c.message || c.sql || ''}>
                            <td>{c.name}</td>
                            <td className="mono">{c.table}</td>
                            <td>{c.kind}</td>
                            <td><Badge state={c.status} /></td>
                            <td className="num">{fmtInt(c.failing)}</td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  )}
                </div>
              ))}
              {(run.steps || []).length === 0 && <div className="muted small">No steps.</div>}
            </div>
          </>
        )}
        <h3>Log {active && <span className="live on">live</span>}</h3>
        <ErrorBox error={log.error} />
        <div className="run-log" data-testid="run-log">
          {log.loading && !log.data && <div className="muted">Loading log…</div>}
          {log.data && lines.length === 0 && <div className="muted">No log lines.</div>}
          {lines.map((l, i) => (
            <div key={i} className={'log-line lvl-' + String(l.level || '').toLowerCase()}>
              <span className="log-at">{fmtTime(l.at).slice(11)}</span>
              <span className="log-lvl">{l.level}</span>
              {l.model && <span className="log-model">{l.model}</span>}
              <span className="log-msg">{l.message}</span>
            </div>
          ))}
        </div>
      </div>
    </aside>
  );
}
