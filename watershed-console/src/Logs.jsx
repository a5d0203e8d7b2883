import { useEffect, useMemo, useRef, useState } from 'react';
import { api } from './api.js';
import { AXIS, EChart, PALETTE } from './Chart.jsx';
import { navigate, usePoll } from './hooks.js';
import { Card, Empty, ErrorBox, Loading, PageHeader } from './ui.jsx';
import { cellText, fmtInt, fmtTime, quoteTable } from './util.js';

// Log search in the manner of Kibana's Discover, over GET /v1/search. The route holds the search
// (#/logs?stream=..&q=..&since=15m, or &from=..&to=.. as ISO times), so a link shows the same hits.

const RANGES = [['15m', 'Last 15 minutes'], ['1h', 'Last hour'], ['24h', 'Last 24 hours'], ['7d', 'Last 7 days']];
const LIMIT = 100;
const LIVE_MS = 5000;

function pad(n) {
  return String(n).padStart(2, '0');
}

/** epoch millis -> the local "YYYY-MM-DDTHH:MM:SS" a datetime-local input shows. */
function localInput(ms) {
  if (ms == null || Number.isNaN(ms)) return '';
  const d = new Date(ms);
  return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + 'T' + pad(d.getHours()) + ':' +
    pad(d.getMinutes()) + ':' + pad(d.getSeconds());
}

function isoOf(local) {
  const t = new Date(local).getTime();
  return Number.isNaN(t) ? '' : new Date(t).toISOString();
}

/** A field name and a value as a Lucene term: field:"value", escaping what the classic parser treats as syntax. */
export function term(field, value) {
  const name = field.replace(/([+\-!(){}[\]^"~*?:\\/&|\s])/g, '\\$1');
  return name + ':"' + String(value).replace(/["\\]/g, '\\$&') + '"';
}

function addTerm(query, field, value) {
  const q = query.trim();
  if (!q || q === '*') return term(field, value);
  return (/\bOR\b/.test(q) ? '(' + q + ')' : q) + ' AND ' + term(field, value);
}

/** A highlight fragment (HTML-escaped text with the matched words in <em>) as text and <mark>s: no HTML is parsed. */
const ENTITIES = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };
export function Fragment({ html }) {
  const parts = String(html).split(/<\/?em>/);
  return parts.map((p, i) => {
    const text = p.replace(/&(amp|lt|gt|quot|#39);/g, (m) => ENTITIES[m]);
    return i % 2 === 1 ? <mark key={i}>{text}</mark> : text;
  });
}

function Histogram({ result, onPick }) {
  const pick = useRef(onPick);
  pick.current = onPick;
  const buckets = result.histogram || [];
  const interval = result.interval_ms || 0;
  const option = useMemo(() => ({
    animation: false,
    color: [PALETTE[0]],
    textStyle: { fontFamily: 'inherit' },
    grid: { left: 8, right: 16, top: 10, bottom: 4, outerBoundsMode: 'same', outerBoundsContain: 'axisLabel' },
    tooltip: {
      trigger: 'axis', confine: true, textStyle: { fontSize: 12 },
      formatter: (ps) => {
        const p = ps && ps[0];
        return p ? fmtTime(p.value[0]) + ' – ' + fmtTime(p.value[0] + interval).slice(11) + '<br/>' + fmtInt(p.value[1]) + ' hits' : '';
      },
    },
    xAxis: { ...AXIS, type: 'time', splitLine: { show: false } },
    yAxis: { ...AXIS, type: 'value', minInterval: 1 },
    series: [{ type: 'bar', barWidth: '90%', data: buckets.map((b) => [Date.parse(b.start), b.count]), cursor: 'zoom-in' }],
  }), [buckets, interval]);
  const onReady = (chart) => chart.on('click', (p) => pick.current(p.value[0], p.value[0] + interval));
  const count = buckets.reduce((n, b) => n + b.count, 0);
  return (
    <div className="logs-histogram" data-testid="histogram" data-buckets={buckets.length} data-count={count}
      role="img" aria-label={fmtInt(count) + ' hits in ' + buckets.length + ' buckets; click a bar to narrow the time range to it'}>
      <EChart option={option} onReady={onReady} className="chart-canvas" />
    </div>
  );
}

function Hit({ hit, open, onToggle }) {
  const key = hit.partition + '-' + hit.offset;
  const source = hit.source || {};
  const highlights = hit.highlights || {};
  const rest = Object.keys(source).filter((f) => !(f in highlights));
  const sql = 'SELECT * FROM ' + quoteTable(hit.lake.table) + ' WHERE _partition = ' + hit.lake._partition + ' AND _offset = ' + hit.lake._offset;
  return (
    <li className={'hit' + (open ? ' open' : '')} data-testid="hit" data-partition={hit.partition} data-offset={hit.offset}>
      <div className="hit-h">
        <button type="button" className="hit-toggle" aria-expanded={open} aria-controls={'hit-' + key} onClick={onToggle}
          data-testid="hit-toggle" title={hit.time}>
          <span className="caret" aria-hidden="true">{open ? '▾' : '▸'}</span>{fmtTime(hit.time)}
        </button>
        <div className="hit-summary">
          {Object.entries(highlights).map(([f, fragments]) => (
            <span key={f} className="hit-pair"><span className="hit-field">{f}:</span>{' '}
              {fragments.map((h, i) => <span key={i}>{i > 0 && ' … '}<Fragment html={h} /></span>)}</span>
          ))}
          {rest.map((f) => <span key={f} className="hit-pair"><span className="hit-field">{f}:</span> {cellText(source[f])}</span>)}
        </div>
        <a className="btn small" href={'#/sql?sql=' + encodeURIComponent(sql)} data-testid="hit-sql"
          title={'Open this event\'s row in the lake: ' + sql}>Row in SQL</a>
      </div>
      {open && (
        <div className="hit-detail" id={'hit-' + key} data-testid="hit-detail">
          <table className="grid">
            <tbody>
              {Object.entries(source).map(([f, v]) => (
                <tr key={f}><th scope="row">{f}</th><td className="mono">{cellText(v) == null ? <span className="null">null</span> : cellText(v)}</td></tr>
              ))}
              <tr><th scope="row">lake row</th><td className="mono">{hit.lake.table} · _partition {hit.lake._partition} · _offset {hit.lake._offset}</td></tr>
            </tbody>
          </table>
        </div>
      )}
    </li>
  );
}

/** A 400 from the parser: where in the query (line, column) and why, with a caret under the place. */
function QueryError({ error, query }) {
  const d = error.details || {};
  if (error.status !== 400 || !d.line) return <ErrorBox error={error} testid="logs-error" />;
  const line = String(query).split('\n')[d.line - 1] || '';
  return (
    <div className="error-box query-error" role="alert" data-testid="query-error">
      <div>The query is not valid at line {d.line}, column {d.column}: {d.reason}</div>
      <pre className="mono" aria-hidden="true">{line + '\n' + ' '.repeat(Math.max(0, d.column - 1)) + '^'}</pre>
    </div>
  );
}

export default function Logs({ route }) {
  const streamsQ = usePoll(() => api.streams(), 0, []);
  const searchable = useMemo(() => ((streamsQ.data && streamsQ.data.streams) || []).filter((s) => s.search), [streamsQ.data]);
  const p = route.query;
  const stream = p.get('stream') || (searchable[0] && searchable[0].name) || '';
  const q = p.get('q') || '';
  const from = p.get('from') || '';
  const to = p.get('to') || '';
  const since = from || to ? '' : p.get('since') || '15m';
  const info = searchable.find((s) => s.name === stream);
  const keywords = (info && info.search.keywords) || [];
  const texts = (info && info.search.text) || [];

  const [draft, setDraft] = useState(q);
  useEffect(() => setDraft(q), [q]);
  const [live, setLive] = useState(false);
  const [open, setOpen] = useState(() => new Set());
  const input = useRef(null);

  const result = usePoll(() => api.search({ stream, q, since, from, to, limit: LIMIT, top: keywords }),
    !stream || !streamsQ.data ? null : live ? LIVE_MS : 0, [stream, q, since, from, to, keywords.join(',')]);

  const go = (changes) => {
    const next = { stream, q, since, from, to, ...changes };
    const qs = new URLSearchParams();
    for (const k of ['stream', 'q', 'since', 'from', 'to']) if (next[k]) qs.set(k, next[k]);
    const hash = '#/logs?' + qs;
    if (location.hash === hash) result.refresh();
    else navigate(hash);
  };
  const submit = (e) => {
    e.preventDefault();
    go({ q: draft.trim() });
  };

  const [fromDraft, setFromDraft] = useState('');
  const [toDraft, setToDraft] = useState('');
  useEffect(() => {
    setFromDraft(from ? localInput(Date.parse(from)) : '');
    setToDraft(to ? localInput(Date.parse(to)) : '');
  }, [from, to]);
  const [absolute, setAbsolute] = useState(!!(from || to));
  useEffect(() => setAbsolute(!!(from || to)), [from, to]);
  const pickRange = (value) => {
    if (value !== 'absolute') {
      go({ since: value, from: '', to: '' });
      return;
    }
    const end = Date.now();
    const start = end - 3600_000;
    setFromDraft(fromDraft || localInput(start));
    setToDraft(toDraft || localInput(end));
    setAbsolute(true);
  };

  const data = result.data;
  const hits = (data && data.hits) || [];
  const toggle = (key) => setOpen((s) => {
    const n = new Set(s);
    if (n.has(key)) n.delete(key);
    else n.add(key);
    return n;
  });

  if (streamsQ.data && searchable.length === 0) {
    return (
      <div className="page">
        <PageHeader title="Logs" />
        <Empty>No stream has a search index. Add <code>search: {'{text: [message], keywords: [level]}'}</code> to a stream's file
          (streams/&lt;name&gt;.yaml) and its events become searchable here.</Empty>
      </div>
    );
  }

  return (
    <div className="page logs-page">
      <PageHeader title="Logs" sub={info ? fmtInt(info.search.documents) + ' events indexed · Lucene query syntax' : null} />
      <ErrorBox error={streamsQ.error} />
      <form className="logs-bar" onSubmit={submit} role="search">
        <label className="ctl">Stream
          <select data-testid="logs-stream" value={stream} onChange={(e) => go({ stream: e.target.value, q: '' })}>
            {searchable.map((s) => <option key={s.name} value={s.name}>{s.name}</option>)}
          </select>
        </label>
        <input ref={input} type="search" className="logs-query mono" data-testid="logs-query" aria-label="Query (Lucene syntax; Enter runs it)"
          placeholder={'e.g. level:ERROR AND "timed out"' + (texts.length ? ' — words search ' + texts.join(', ') : '')}
          value={draft} onChange={(e) => setDraft(e.target.value)} spellCheck="false" />
        <label className="ctl">Time
          <select data-testid="logs-range" value={absolute ? 'absolute' : since} onChange={(e) => pickRange(e.target.value)}>
            {RANGES.map(([v, label]) => <option key={v} value={v}>{label}</option>)}
            <option value="absolute">Absolute…</option>
          </select>
        </label>
        <button type="submit" className="btn primary" data-testid="logs-search">Search</button>
        <button type="button" className={'btn' + (live ? ' on' : '')} aria-pressed={live} data-testid="logs-live"
          title={'Search again every ' + LIVE_MS / 1000 + ' s'} onClick={() => setLive((l) => !l)}>
          <span className={'live' + (live ? ' on' : '')}>{live ? 'Live' : 'Live off'}</span>
        </button>
      </form>
      {absolute && (
        <div className="logs-bar">
          <label className="ctl">From <input type="datetime-local" step="1" data-testid="logs-from" value={fromDraft}
            onChange={(e) => setFromDraft(e.target.value)} /></label>
          <label className="ctl">To <input type="datetime-local" step="1" data-testid="logs-to" value={toDraft}
            onChange={(e) => setToDraft(e.target.value)} /></label>
          <button type="button" className="btn small" data-testid="logs-apply-range"
            onClick={() => go({ since: '', from: isoOf(fromDraft), to: isoOf(toDraft) })}>Apply</button>
        </div>
      )}
      {result.error && <QueryError error={result.error} query={q} />}

      <div className="logs-layout">
        <aside className="card logs-fields" aria-label="Fields">
          <header className="card-h"><h2>Fields</h2></header>
          <div className="card-b">
            {keywords.map((f) => (
              <div key={f} className="field-top" data-testid={'field-' + f}>
                <h3>{f}</h3>
                <ul>
                  {((data && data.top && data.top[f]) || []).map((v) => (
                    <li key={v.value}>
                      <button type="button" className="top-value" data-testid="top-value" data-field={f} data-value={v.value}
                        title={'Add ' + term(f, v.value) + ' to the query'} onClick={() => go({ q: addTerm(q, f, v.value) })}>
                        <span className="tv-name">{v.value}</span><span className="tv-count">{fmtInt(v.count)}</span>
                      </button>
                    </li>
                  ))}
                  {data && !(data.top && data.top[f] && data.top[f].length) && <li className="muted small">no values</li>}
                </ul>
              </div>
            ))}
            {texts.length > 0 && (
              <>
                <h3>Text</h3>
                <ul className="text-fields">
                  {texts.map((f) => (
                    <li key={f}><button type="button" className="btn link mono" title={'Search ' + f + ' only'}
                      onClick={() => { setDraft((d) => (d.trim() ? d.trim() + ' ' : '') + f + ':'); input.current && input.current.focus(); }}>
                      {f}</button></li>
                  ))}
                </ul>
              </>
            )}
          </div>
        </aside>

        <div className="logs-main">
          <Card className="histogram-card" title={
            <span data-testid="hit-count" data-total={data ? data.total : ''} aria-live="polite">
              {data ? fmtInt(data.total) + ' hit' + (data.total === 1 ? '' : 's') : result.loading ? 'Searching…' : '—'}
            </span>}
            actions={<span className="muted small">
              {since ? 'last ' + since : fmtTime(from) + ' → ' + fmtTime(to)}
              {data && ' · ' + fmtInt(data.interval_ms / 1000) + ' s buckets · ' + data.elapsed_ms + ' ms'}
              {(from || to) && <> · <button type="button" className="btn link" onClick={() => go({ since: '15m', from: '', to: '' })}>
                back to the last 15 minutes</button></>}
            </span>}>
            {data ? <Histogram result={data} onPick={(a, b) => go({ since: '', from: new Date(a).toISOString(), to: new Date(b).toISOString() })} />
              : result.loading ? <Loading /> : <Empty>No search yet.</Empty>}
          </Card>
          <Card title="Hits" className="hits-card" bodyClass="flush"
            actions={data && data.total > hits.length ? <span className="muted small">the newest {fmtInt(hits.length)}</span> : null}>
            {data && hits.length === 0 && <Empty>No events match in this time range.</Empty>}
            <ol className="hits" data-testid="hits">
              {hits.map((h) => {
                const key = h.partition + '-' + h.offset;
                return <Hit key={key} hit={h} open={open.has(key)} onToggle={() => toggle(key)} />;
              })}
            </ol>
          </Card>
        </div>
      </div>
    </div>
  );
}
