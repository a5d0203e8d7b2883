import { useMemo, useState } from 'react';
import { api } from './api.js';
import { navigate, usePoll } from './hooks.js';
import { Badge, Card, Empty, ErrorBox, Loading, PageHeader, ResultTable } from './ui.jsx';
import { fmtBytes, fmtInt, fmtTime, href, quoteTable, relTime } from './util.js';

export default function Tables({ route }) {
  const name = route.parts[0];
  if (name) return <TableDetail key={name} name={name} tab={route.parts[1] || 'schema'} />;
  return <TableList />;
}

function TableList() {
  const { data, error, loading, refresh } = usePoll(() => api.tables(), 10000, []);
  const [filter, setFilter] = useState('');
  const tables = (data && data.tables) || [];
  const f = filter.trim().toLowerCase();
  const shown = f ? tables.filter((t) => t.name.toLowerCase().includes(f)) : tables;
  const totals = tables.reduce((a, t) => ({ rows: a.rows + (Number(t.rows) || 0), bytes: a.bytes + (Number(t.bytes) || 0) }), { rows: 0, bytes: 0 });
  return (
    <div className="page">
      <PageHeader title="Tables" sub={data ? tables.length + ' tables · ' + fmtInt(totals.rows) + ' rows · ' + fmtBytes(totals.bytes) : null}>
        <input className="search" type="search" placeholder="Filter tables…" value={filter} onChange={(e) => setFilter(e.target.value)} />
        <button type="button" className="btn" onClick={refresh}>Refresh</button>
      </PageHeader>
      <ErrorBox error={error} />
      {loading && !data && <Loading />}
      {data && (
        <Card bodyClass="flush">
          {tables.length === 0 ? <Empty>No tables you may read.</Empty> : (
            <div className="table-wrap tall">
              <table className="grid clickable">
                <thead>
                  <tr>
                    <th>Table</th><th className="num">Rows</th><th className="num">Files</th><th className="num">Size</th>
                    <th className="num">Avg file</th><th className="num">Snapshots</th><th>Retention</th>
                    <th>Last compaction</th><th>Last commit</th><th className="num">Columns</th>
                  </tr>
                </thead>
                <tbody>
                  {shown.map((t) => (
                    <tr key={t.name} data-testid={'table-' + t.name} onClick={() => navigate(href('tables', t.name))}>
                      <td><a href={href('tables', t.name)} className="strong mono" onClick={(e) => e.stopPropagation()}>{t.name}</a></td>
                      <td className="num">{fmtInt(t.rows)}</td>
                      <td className="num">{fmtInt(t.files)}</td>
                      <td className="num">{fmtBytes(t.bytes)}</td>
                      <td className="num" title={t.target_file_bytes ? 'target ' + fmtBytes(t.target_file_bytes) : undefined}>{fmtBytes(t.average_file_bytes)}</td>
                      <td className="num">{fmtInt(t.snapshots)}</td>
                      <td>{t.retention || <span className="muted">keep all</span>}</td>
                      <td title={fmtTime(t.last_compaction)}>{t.last_compaction ? relTime(t.last_compaction) : <span className="muted">never</span>}</td>
                      <td title={fmtTime(t.last_commit_at)}>{t.last_commit_at ? relTime(t.last_commit_at) : <span className="muted">never</span>}</td>
                      <td className="num">{(t.columns || []).length}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {shown.length === 0 && <Empty>No table matches “{filter}”.</Empty>}
            </div>
          )}
        </Card>
      )}
    </div>
  );
}

const TABS = [
  { id: 'schema', label: 'Schema' },
  { id: 'snapshots', label: 'Snapshots' },
  { id: 'files', label: 'Files' },
  { id: 'sample', label: 'Sample' },
  { id: 'dlq', label: 'Dead letters', stream: true },
  { id: 'tail', label: 'Live tail', stream: true },
];

function TableDetail({ name, tab }) {
  const detail = usePoll(() => api.table(name), 0, [name]);
  const streams = usePoll(() => api.streams().catch(() => null), 0, []);
  const t = detail.data;
  const stream = streams.data && (streams.data.streams || []).find((s) => s.table === name);
  const isRaw = !!stream || (/^raw\./.test(name) && !/__dlq$/.test(name));
  const dlqTable = stream ? stream.dead_letter_table : isRaw ? name + '__dlq' : null;
  const tabs = TABS.filter((x) => !x.stream || isRaw);
  const active = tabs.some((x) => x.id === tab) ? tab : 'schema';

  return (
    <div className="page">
      <PageHeader title={<><a href="#/tables" className="crumb">Tables</a><span className="crumb-sep">/</span><span className="mono">{name}</span></>}
        sub={t ? fmtInt(t.rows) + ' rows · ' + fmtBytes(t.bytes) + (stream ? ' · raw table of stream ' + stream.name : '') : null}>
        <a className="btn" href={href('lineage', 'table:' + name)}>Lineage</a>
        <button type="button" className="btn" onClick={detail.refresh}>Refresh</button>
      </PageHeader>
      <ErrorBox error={detail.error} />
      {detail.loading && !t && <Loading />}
      {t && (
        <>
          <div className="tabs" role="tablist">
            {tabs.map((x) => (
              <button key={x.id} type="button" role="tab" aria-selected={active === x.id} data-testid={'tab-' + x.id}
                className={'tab' + (active === x.id ? ' active' : '')} onClick={() => navigate(href('tables', name, x.id))}>
                {x.label}
                {x.id === 'snapshots' && <span className="tab-count">{(t.snapshots || []).length}</span>}
                {x.id === 'files' && <span className="tab-count">{(t.files || []).length}</span>}
                {x.id === 'dlq' && stream && Number(stream.dead_letters) > 0 && <span className="tab-count bad">{fmtInt(stream.dead_letters)}</span>}
              </button>
            ))}
          </div>
          <div className="tab-body" data-testid="tab-body" data-tab={active}>
            {active === 'schema' && <SchemaTab t={t} />}
            {active === 'snapshots' && <SnapshotsTab t={t} />}
            {active === 'files' && <FilesTab t={t} />}
            {active === 'sample' && <SampleTab name={name} />}
            {active === 'dlq' && <DeadLettersTab table={dlqTable} />}
            {active === 'tail' && <TailTab table={name} />}
          </div>
        </>
      )}
    </div>
  );
}

function ColumnsTable({ columns }) {
  return (
    <div className="table-wrap">
      <table className="grid">
        <thead><tr><th className="num">Id</th><th>Column</th><th>Type</th><th>Required</th><th>Doc</th></tr></thead>
        <tbody>
          {(columns || []).map((c) => (
            <tr key={c.id != null ? c.id : c.name}>
              <td className="num muted">{c.id}</td>
              <td className="mono strong">{c.name}</td>
              <td className="mono type">{c.type}</td>
              <td>{c.required ? 'yes' : <span className="muted">no</span>}</td>
              <td className="doc">{c.doc || ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function SchemaTab({ t }) {
  const schemas = t.schemas || [];
  return (
    <div className="two-col">
      <Card title="Current columns" bodyClass="flush">
        <ColumnsTable columns={t.columns} />
        {(t.partition_spec || []).length > 0 && (
          <div className="partition-spec">
            <span className="muted">Partitioned by</span>
            {t.partition_spec.map((p) => (
              <code key={p.name} title={p.name}>{p.transform}({p.source})</code>
            ))}
          </div>
        )}
      </Card>
      <Card title={'Schema history (' + schemas.length + ')'} bodyClass="flush">
        {schemas.length === 0 ? <Empty>No schema history.</Empty> : (
          <ol className="schema-history">
            {schemas.map((s) => (
              <li key={s.schema_id} className={s.current ? 'current' : ''}>
                <div className="sh-h">
                  <span className="strong">schema {s.schema_id}</span>
                  {s.current && <Badge state="success">current</Badge>}
                  <span className="muted">{s.first_seen_at ? 'since ' + fmtTime(s.first_seen_at) : ''}
                    {s.first_snapshot_id != null ? ' · snapshot ' + s.first_snapshot_id : ''}</span>
                </div>
                <div className="sh-changes">
                  {(s.added || []).map((c) => <span key={'a' + c} className="chg add">+ {c}</span>)}
                  {(s.removed || []).map((c) => <span key={'r' + c} className="chg rem">− {c}</span>)}
                  {(s.added || []).length === 0 && (s.removed || []).length === 0 &&
                    <span className="muted small">{(s.columns || []).length} columns</span>}
                </div>
              </li>
            ))}
          </ol>
        )}
      </Card>
    </div>
  );
}

function SnapshotsTab({ t }) {
  const snaps = t.snapshots || [];
  const [selected, setSelected] = useState(null);
  const rows = usePoll(() => (selected == null ? Promise.resolve(null) : api.tableRows(t.name, selected, 50)), 0, [t.name, selected]);
  return (
    <div className="stack">
      <Card title="Snapshots" bodyClass="flush" actions={<span className="muted small">newest first · click one to read the table as of it</span>}>
        {snaps.length === 0 ? <Empty>No snapshots yet: nothing has been committed.</Empty> : (
          <div className="table-wrap medium">
            <table className="grid clickable">
              <thead>
                <tr>
                  <th>Snapshot</th><th>Parent</th><th>At</th><th>Operation</th><th className="num">Added records</th>
                  <th className="num">Added files</th><th className="num">Total records</th><th className="num">Total files</th>
                </tr>
              </thead>
              <tbody>
                {snaps.map((s) => (
                  <tr key={s.snapshot_id} data-snapshot={s.snapshot_id} className={selected === s.snapshot_id ? 'selected' : ''}
                    onClick={() => setSelected(s.snapshot_id)}>
                    <td className="mono">{s.snapshot_id} {s.current && <Badge state="success">current</Badge>}</td>
                    <td className="mono muted">{s.parent_id != null ? s.parent_id : '—'}</td>
                    <td title={s.at}>{fmtTime(s.at)}</td>
                    <td><span className="op">{s.operation}</span></td>
                    <td className="num">{fmtInt(s.added_records)}</td>
                    <td className="num">{fmtInt(s.added_files)}</td>
                    <td className="num">{fmtInt(s.total_records)}</td>
                    <td className="num">{fmtInt(s.total_files)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
      {selected != null && (
        <Card title={'Rows as of snapshot ' + selected + (rows.data && rows.data.at ? ' (' + fmtTime(rows.data.at) + ')' : '')}
          bodyClass="flush" className="snapshot-rows" testid="snapshot-rows">
          <ErrorBox error={rows.error} />
          {rows.loading && <Loading />}
          {rows.data && <ResultTable result={rows.data} />}
        </Card>
      )}
    </div>
  );
}

function FilesTab({ t }) {
  const files = t.files || [];
  const total = files.reduce((a, f) => ({ records: a.records + (Number(f.records) || 0), bytes: a.bytes + (Number(f.bytes) || 0) }), { records: 0, bytes: 0 });
  return (
    <Card title={'Data files (' + files.length + ')'} bodyClass="flush"
      actions={<span className="muted small">{fmtInt(total.records)} records · {fmtBytes(total.bytes)}</span>}>
      {files.length === 0 ? <Empty>No data files.</Empty> : (
        <div className="table-wrap tall">
          <table className="grid">
            <thead><tr><th>Partition</th><th>File</th><th className="num">Records</th><th className="num">Size</th></tr></thead>
            <tbody>
              {files.map((f, i) => (
                <tr key={f.name + i}>
                  <td className="mono">{f.partition || <span className="muted">unpartitioned</span>}</td>
                  <td className="mono muted" title={f.name}>{f.name}</td>
                  <td className="num">{fmtInt(f.records)}</td>
                  <td className="num">{fmtBytes(f.bytes)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}

function SampleTab({ name }) {
  const rows = usePoll(() => api.tableRows(name, null, 50), 0, [name]);
  return (
    <Card title="Sample (current snapshot)" bodyClass="flush"
      actions={<><span className="muted small">{rows.data && rows.data.snapshot_id != null ? 'snapshot ' + rows.data.snapshot_id : ''}</span>
        <button type="button" className="btn small" onClick={rows.refresh}>Reload</button></>}>
      <ErrorBox error={rows.error} />
      {rows.loading && !rows.data && <Loading />}
      {rows.data && <ResultTable result={rows.data} className="tall" />}
    </Card>
  );
}

function DeadLettersTab({ table }) {
  const sql = 'SELECT reason, raw, failed_at FROM ' + quoteTable(table) + ' ORDER BY failed_at DESC LIMIT 50';
  const res = usePoll(() => api.sql(sql), 0, [sql]);
  return (
    <Card title={'Dead letters · ' + table} bodyClass="flush"
      actions={<><a className="btn small" href="#/sql" onClick={() => sessionStorage.setItem('watershed.sql.open', sql)}>Open in SQL</a>
        <button type="button" className="btn small" onClick={res.refresh}>Reload</button></>}>
      <div className="sql-line mono">{sql}</div>
      <ErrorBox error={res.error} />
      {res.loading && !res.data && <Loading />}
      {res.data && (res.data.rows || []).length === 0 ? <Empty>No dead letters: every event was readable.</Empty>
        : res.data && <ResultTable result={res.data} className="tall dlq" />}
    </Card>
  );
}

function TailTab({ table }) {
  const [paused, setPaused] = useState(false);
  const sql = 'SELECT * FROM ' + quoteTable(table) + ' ORDER BY _ingested_at DESC LIMIT 20';
  const res = usePoll(() => api.sql(sql), paused ? null : 1000, [sql]);
  const [seen] = useState(() => new Set());
  const keyIdx = useMemo(() => {
    const cols = (res.data && res.data.columns) || [];
    return [cols.indexOf('_partition'), cols.indexOf('_offset')];
  }, [res.data]);
  const rowKey = (row, i) => (keyIdx[0] >= 0 && keyIdx[1] >= 0 ? row[keyIdx[0]] + ':' + row[keyIdx[1]] : String(i));
  const fresh = useMemo(() => {
    const out = new Set();
    if (!res.data) return out;
    const first = seen.size === 0;
    for (const [i, r] of (res.data.rows || []).entries()) {
      const k = rowKey(r, i);
      if (!seen.has(k)) {
        if (!first) out.add(k);
        seen.add(k);
      }
    }
    return out;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [res.data]);
  return (
    <Card title={'Live tail · ' + table} bodyClass="flush"
      actions={<>
        <span className={'live ' + (paused ? 'paused' : 'on')}>{paused ? 'paused' : 'live'}</span>
        <button type="button" className="btn small" data-testid="tail-pause" onClick={() => setPaused((p) => !p)}>
          {paused ? 'Resume' : 'Pause'}
        </button>
      </>}>
      <div className="sql-line mono">{sql} <span className="muted">· every second, newest first</span></div>
      <ErrorBox error={res.error} />
      {res.loading && !res.data && <Loading />}
      {res.data && (res.data.rows || []).length === 0 && <Empty>No events yet. Post some to the stream and they show here within a second.</Empty>}
      {res.data && (res.data.rows || []).length > 0 && (
        <ResultTable result={res.data} className="tall tail" rowKey={rowKey}
          rowClass={(r, i) => (fresh.has(rowKey(r, i)) ? 'fresh' : undefined)} />
      )}
    </Card>
  );
}
