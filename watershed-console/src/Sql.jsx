import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { api } from './api.js';
import { usePoll } from './hooks.js';
import SqlEditor from './SqlEditor.jsx';
import { CHART_TYPES, Chart, resolveSpec } from './Chart.jsx';
import { Card, Empty, ErrorBox, PageHeader, ResultTable } from './ui.jsx';
import { columnKinds, fmtDuration, fmtInt } from './util.js';

const NAME_RE = /^[a-z][a-z0-9_]*$/;

function setEditorText(viewRef, text) {
  const view = viewRef.current;
  if (view) view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
}

export default function Sql({ route }) {
  const tables = usePoll(() => api.tables(), 0, []);
  const saved = usePoll(() => api.queries(), 0, []);
  const viewRef = useRef(null);
  // a query to open and run: #/sql?sql=… (a link, e.g. from a search hit), else one another page left in the tab
  const [initial] = useState(() => (route && route.query.get('sql')) || sessionStorage.getItem('watershed.sql.open') || '');
  const [result, setResult] = useState(null);
  const [error, setError] = useState(null);
  const [running, setRunning] = useState(false);
  const [spec, setSpec] = useState(null);
  const [name, setName] = useState('');
  const [current, setCurrent] = useState(null); // the saved query last loaded
  const [saveMsg, setSaveMsg] = useState(null);
  const [saveError, setSaveError] = useState(null);
  const runSeq = useRef(0);

  const schema = useMemo(() => {
    const out = {};
    for (const t of (tables.data && tables.data.tables) || []) out[t.name] = (t.columns || []).map((c) => c.name);
    return out;
  }, [tables.data]);

  const run = useCallback(async (text) => {
    const sqlText = text != null ? text : viewRef.current ? viewRef.current.state.doc.toString() : '';
    if (!sqlText.trim()) {
      setError(new Error('Type a query first, e.g. SELECT * FROM raw.clicks LIMIT 10.'));
      return;
    }
    const seq = ++runSeq.current;
    setRunning(true);
    setError(null);
    try {
      const res = await api.sql(sqlText);
      if (seq === runSeq.current) setResult(res);
    } catch (e) {
      if (seq === runSeq.current) {
        setError(e);
        setResult(null);
      }
    } finally {
      if (seq === runSeq.current) setRunning(false);
    }
  }, []);

  useEffect(() => {
    sessionStorage.removeItem('watershed.sql.open');
    if (initial) run(initial);
  }, [initial, run]);

  const load = (q) => {
    setEditorText(viewRef, q.sql || '');
    setSpec(q.chart || null);
    setName(q.name);
    setCurrent(q);
    setSaveMsg(null);
    setSaveError(null);
    run(q.sql || '');
  };

  const resolved = useMemo(() => (result ? resolveSpec(result, spec) : null), [result, spec]);

  const save = async () => {
    setSaveMsg(null);
    setSaveError(null);
    const n = name.trim();
    if (!n) {
      setSaveError('Enter a name for the query first (lowercase letters, digits and _, starting with a letter).');
      return;
    }
    if (!NAME_RE.test(n)) {
      setSaveError('“' + n + '” is not a valid name: use lowercase letters, digits and _, starting with a letter.');
      return;
    }
    const sqlText = viewRef.current ? viewRef.current.state.doc.toString() : '';
    const chart = resolved ? { type: resolved.type, x: resolved.x, y: resolved.y } : current && current.name === n ? current.chart : null;
    const title = current && current.name === n && current.title ? current.title : n;
    try {
      const q = await api.saveQuery(n, { sql: sqlText, title, chart });
      setCurrent(q && q.name ? q : { name: n, sql: sqlText, title, chart });
      setSaveMsg('Saved' + (q && q.file ? ' to ' + q.file : ' as ' + n) + '.');
      saved.refresh();
    } catch (e) {
      setSaveError(e.message);
    }
  };

  const remove = async (q) => {
    if (!window.confirm('Delete the saved query “' + q.name + '”? This removes ' + (q.file || 'its file') + '.')) return;
    try {
      await api.deleteQuery(q.name);
      if (current && current.name === q.name) setCurrent(null);
      saved.refresh();
    } catch (e) {
      setSaveError(e.message);
    }
  };

  const queries = (saved.data && saved.data.queries) || [];
  const kinds = result ? columnKinds(result) : [];

  return (
    <div className="page sql-page">
      <PageHeader title="SQL" sub="DuckDB over the lake · read-only" />
      <div className="sql-layout">
        <aside className="saved-list card">
          <header className="card-h"><h2>Saved queries</h2><span className="muted small">{queries.length}</span></header>
          <ErrorBox error={saved.error} />
          {saved.data && queries.length === 0 && <Empty>None yet. Write a query, name it and Save.</Empty>}
          <ul>
            {queries.map((q) => (
              <li key={q.name} className={current && current.name === q.name ? 'current' : ''}>
                <button type="button" className="saved-item" data-testid={'saved-' + q.name} onClick={() => load(q)} title={q.sql}>
                  <span className="saved-title">{q.title || q.name}</span>
                  <span className="saved-name mono">{q.name}{q.chart ? ' · ' + q.chart.type : ''}</span>
                </button>
                <button type="button" className="icon-btn" title="Delete" aria-label={'Delete ' + q.name} onClick={() => remove(q)}>×</button>
              </li>
            ))}
          </ul>
          <div className="schema-hint muted small">
            {tables.data ? Object.keys(schema).length + ' tables available for completion' : tables.error ? '' : 'loading tables…'}
          </div>
        </aside>

        <div className="sql-main">
          <div className="editor-card card">
            <SqlEditor initial={initial} schema={schema} onRun={run} viewRef={viewRef} />
            <div className="editor-toolbar">
              <button type="button" className="btn primary" data-testid="run-sql" onClick={() => run()} disabled={running}>
                {running ? 'Running…' : 'Run'}
              </button>
              <span className="kbd-hint">Ctrl+Enter</span>
              {result && !running && (
                <span className="run-stats">
                  {fmtInt((result.rows || []).length)} rows · {fmtDuration(result.elapsed_ms)}
                  {result.truncated && <span className="badge badge-warn" title={result.note || ''}>truncated</span>}
                </span>
              )}
              <span className="spacer" />
              <input className="name-input mono" data-testid="query-name" placeholder="query_name" value={name}
                onChange={(e) => setName(e.target.value)} onKeyDown={(e) => e.key === 'Enter' && save()} />
              <button type="button" className="btn" data-testid="save-query" onClick={save}>Save</button>
            </div>
            {(saveMsg || saveError) && (
              <div className={'save-msg ' + (saveError ? 'bad-text' : 'ok-text')} data-testid="save-message">{saveError || saveMsg}</div>
            )}
          </div>

          {error && <div className="error-box sql-error" role="alert" data-testid="sql-error">{error.message}</div>}
          {result && result.note && <div className="note">{result.note}</div>}

          <div className="sql-out">
            <Card title="Results" className="results-card" bodyClass="flush"
              actions={result ? <span className="muted small">{(result.columns || []).length} columns</span> : null}>
              {result ? <ResultTable result={result} testid="results" /> : <Empty>Run a query to see its rows here.</Empty>}
            </Card>
            <Card title="Chart" className="chart-card">
              <div className="chart-controls">
                <div className="seg" role="group" aria-label="Chart type">
                  {CHART_TYPES.map((t) => (
                    <button key={t} type="button" data-testid={'chart-' + t}
                      className={'seg-btn' + (resolved && resolved.type === t ? ' active' : '')}
                      onClick={() => setSpec((s) => ({ ...(result ? resolveSpec(result, s) : s || {}), type: t }))}>
                      {t}
                    </button>
                  ))}
                </div>
                {result && resolved && (
                  <>
                    <label className="ctl">x
                      <select data-testid="chart-x" value={resolved.x || ''}
                        onChange={(e) => setSpec({ ...resolved, x: e.target.value, y: resolved.y.filter((c) => c !== e.target.value) })}>
                        {(result.columns || []).map((c) => <option key={c} value={c}>{c}</option>)}
                      </select>
                    </label>
                    <div className="ctl y-pick" data-testid="chart-y">y
                      {(result.columns || []).map((c, i) => c === resolved.x ? null : (
                        <label key={c} className={'chip' + (resolved.y.includes(c) ? ' on' : '') + (kinds[i] !== 'number' ? ' nonnum' : '')}>
                          <input type="checkbox" checked={resolved.y.includes(c)}
                            onChange={(e) => setSpec({ ...resolved, y: e.target.checked ? [...resolved.y, c] : resolved.y.filter((v) => v !== c) })} />
                          {c}
                        </label>
                      ))}
                    </div>
                  </>
                )}
              </div>
              {result ? <Chart result={result} spec={resolved} className="sql-chart" />
                : <Empty>The chart draws the result: pick a type, the x column and the y columns.</Empty>}
            </Card>
          </div>
        </div>
      </div>
    </div>
  );
}
