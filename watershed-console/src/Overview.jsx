import { api } from './api.js';
import { usePoll } from './hooks.js';
import { Sparkline } from './Chart.jsx';
import { Badge, Card, Empty, ErrorBox, PageHeader } from './ui.jsx';
import { fmtInt, fmtRate, fmtTime, href, relTime } from './util.js';

async function loadAll() {
  const [streams, pipelines, models, alerts] = await Promise.allSettled([
    api.streams(), api.pipelines(), api.models(), api.alerts(),
  ]);
  return { streams, pipelines, models, alerts };
}

function part(settled, key) {
  if (!settled) return { items: null, error: null };
  if (settled.status === 'rejected') return { items: null, error: settled.reason };
  return { items: (settled.value && settled.value[key]) || [], error: null };
}

function LagMeter({ lag }) {
  const n = Number(lag) || 0;
  const pct = n <= 0 ? 0 : Math.min(100, (Math.log10(n + 1) / 6) * 100);
  const level = n === 0 ? 'ok' : n < 1000 ? 'low' : n < 100000 ? 'mid' : 'high';
  return (
    <span className="lag" title={fmtInt(n) + ' records waiting in the input streams'}>
      <span className={'lag-bar lag-' + level}><span style={{ width: pct + '%' }} /></span>
      <span className="lag-num">{fmtInt(n)}</span>
    </span>
  );
}

/** Flink's backpressure of a pipeline's job: its level (ok, low, high) and the share of time a task waited on output. */
function Backpressure({ ratio, level, state }) {
  if (ratio == null) {
    const why = String(state).toUpperCase() === 'RUNNING' ? 'Flink has not sampled this job yet (every 10 s)' : 'The job is not running';
    return <span className="muted" title={why}>—</span>;
  }
  const tone = level === 'high' ? 'bad' : level === 'low' ? 'warn' : 'ok';
  return (
    <span className="backpressure" title={'A task of the job waits for room in its output ' + Math.round(ratio * 100) + '% of the time'}>
      <span className={'dot dot-' + tone} />{level} · {Math.round(ratio * 100)}%
    </span>
  );
}

function Stat({ label, value, tone, sub }) {
  return (
    <div className={'stat' + (tone ? ' stat-' + tone : '')}>
      <div className="stat-label">{label}</div>
      <div className="stat-value">{value}</div>
      {sub && <div className="stat-sub">{sub}</div>}
    </div>
  );
}

function freshnessTone(iso, now) {
  if (!iso) return 'muted';
  const s = (now - Date.parse(iso)) / 1000;
  if (s < 60) return 'ok';
  if (s < 300) return 'warn';
  return 'bad';
}

export default function Overview() {
  const { data, error, at } = usePoll(loadAll, 2000, []);
  const now = at || Date.now();
  const streams = part(data && data.streams, 'streams');
  const pipelines = part(data && data.pipelines, 'pipelines');
  const models = part(data && data.models, 'models');
  const alerts = part(data && data.alerts, 'alerts');

  const userStreams = (streams.items || []).filter((s) => !s.system);
  const totalEps = userStreams.reduce((a, s) => a + (Number(s.events_per_second) || 0), 0);
  const pipesFailed = (pipelines.items || []).filter((p) => String(p.state).toUpperCase() === 'FAILED').length;
  const pipesRunning = (pipelines.items || []).filter((p) => String(p.state).toUpperCase() === 'RUNNING').length;
  const critical = (alerts.items || []).filter((a) => a.severity === 'critical').length;
  const modelsFailed = (models.items || []).filter((m) => m.last_state === 'failed').length;

  return (
    <div className="page overview">
      <PageHeader title="Overview" sub={at ? 'updated ' + new Date(at).toLocaleTimeString() : 'loading…'} />
      <ErrorBox error={error} />
      <div className="stats">
        <Stat label="Streams" value={streams.items ? userStreams.length : '—'} sub={fmtRate(totalEps) + ' events/s total'} />
        <Stat label="Pipelines" value={pipelines.items ? pipelines.items.length : '—'}
          sub={pipesRunning + ' running' + (pipesFailed ? ', ' + pipesFailed + ' failed' : '')} tone={pipesFailed ? 'bad' : null} />
        <Stat label="Models" value={models.items ? models.items.length : '—'}
          sub={modelsFailed ? modelsFailed + ' failed last run' : 'all last runs ok'} tone={modelsFailed ? 'bad' : null} />
        <Stat label="Alerts" value={alerts.items ? alerts.items.length : '—'}
          sub={critical ? critical + ' critical' : 'none critical'} tone={critical ? 'bad' : alerts.items && alerts.items.length ? 'warn' : 'ok'} />
      </div>

      <div className="ov-grid">
        <Card title="Streams" className="span-all" bodyClass="flush">
          <ErrorBox error={streams.error} />
          {streams.items && streams.items.length === 0 && <Empty>No streams yet. Declare one in the project, or post events to /v1/streams/&lt;name&gt;/events.</Empty>}
          {streams.items && streams.items.length > 0 && (
            <div className="table-wrap">
              <table className="grid">
                <thead>
                  <tr>
                    <th>Stream</th><th className="num">Events/s</th><th>Last 5 min</th><th className="num">Lake lag</th>
                    <th>Freshness</th><th className="num">Rows</th><th className="num">Dead letters</th><th className="num">Partitions</th>
                  </tr>
                </thead>
                <tbody>
                  {streams.items.map((s) => (
                    <tr key={s.name} data-testid={'stream-' + s.name} className={s.system ? 'dim' : ''}>
                      <td>
                        <a href={href('tables', s.table)} className="strong">{s.name}</a>
                        {s.system && <span className="badge badge-light">system</span>}
                        {s.declared === false && !s.system && <span className="badge badge-warn" title="Not declared in the project">undeclared</span>}
                      </td>
                      <td className="num" data-testid="eps">{fmtRate(s.events_per_second)}</td>
                      <td className="spark-cell"><Sparkline points={s.rate_history} /></td>
                      <td className="num" title="Records acknowledged but not yet committed to the lake">{fmtInt(s.lake_lag)}</td>
                      <td title={s.last_commit_at ? fmtTime(s.last_commit_at) : 'no commit yet'}>
                        <span className={'dot dot-' + freshnessTone(s.last_commit_at, now)} />
                        {s.last_commit_at ? relTime(s.last_commit_at, now) : 'never'}
                      </td>
                      <td className="num">{fmtInt(s.rows)}</td>
                      <td className="num">
                        {Number(s.dead_letters) > 0
                          ? <a href={href('tables', s.table, 'dlq')} className="bad-link" data-testid="dlq-link">{fmtInt(s.dead_letters)}</a>
                          : <a href={href('tables', s.table, 'dlq')} className="muted-link" data-testid="dlq-link">0</a>}
                        {Number(s.retention_overdue) > 0 && <span className="badge badge-warn" title="Snapshots past retention">retention</span>}
                      </td>
                      <td className="num">{s.partitions}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </Card>

        <Card title="Pipelines" className="span-all" bodyClass="flush">
          <ErrorBox error={pipelines.error} />
          {pipelines.items && pipelines.items.length === 0 && <Empty>No pipelines.</Empty>}
          {pipelines.items && pipelines.items.length > 0 && (
            <div className="table-wrap">
              <table className="grid">
                <thead>
                  <tr>
                    <th>Pipeline</th><th>State</th><th className="num">Events/s</th><th>Input lag</th><th>Backpressure</th>
                    <th className="num">Restarts</th><th className="num">Unreadable</th><th>Outputs</th><th>Error</th>
                  </tr>
                </thead>
                <tbody>
                  {pipelines.items.map((p) => (
                    <tr key={p.name} data-testid={'pipeline-' + p.name}>
                      <td><a href={href('lineage', 'pipeline:' + p.name)} className="strong">{p.name}</a></td>
                      <td><Badge state={p.state} /></td>
                      <td className="num">{fmtRate(p.events_per_second)}</td>
                      <td><LagMeter lag={p.lag} /></td>
                      <td data-testid="backpressure"><Backpressure ratio={p.backpressure} level={p.backpressure_level} state={p.state} /></td>
                      <td className={'num' + (p.restarts > 0 ? ' warn-text' : '')}>{fmtInt(p.restarts)}</td>
                      <td className={'num' + (p.unreadable_records > 0 ? ' bad-text' : '')}>{fmtInt(p.unreadable_records)}</td>
                      <td className="outputs">{(p.outputs || []).map((o) => <code key={o}>{o}</code>)}</td>
                      <td className="err-cell" title={p.error || ''}>{p.error || ''}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </Card>

        <Card title="Models" bodyClass="flush" actions={<a href="#/runs" className="btn small">Runs</a>}>
          <ErrorBox error={models.error} />
          {models.items && models.items.length === 0 && <Empty>No models in this project.</Empty>}
          {models.items && models.items.length > 0 && (
            <div className="table-wrap">
              <table className="grid">
                <thead>
                  <tr><th>Model</th><th>Last run</th><th>Ended</th><th>Next run</th></tr>
                </thead>
                <tbody>
                  {models.items.map((m) => (
                    <tr key={m.name} data-testid={'model-' + m.name}>
                      <td title={m.description || m.table}>
                        <a href={href('lineage', 'model:' + m.name)} className="strong">{m.name}</a>
                        <span className="sub">{m.materialized}{m.schedule ? ' · ' + m.schedule : ''}</span>
                      </td>
                      <td><Badge state={m.last_state}>{m.last_state || 'never run'}</Badge></td>
                      <td title={fmtTime(m.last_ended_at)}>{m.last_ended_at ? relTime(m.last_ended_at, now) : '—'}</td>
                      <td title={fmtTime(m.next_run_at)}>{m.next_run_at ? relTime(m.next_run_at, now) : m.schedule ? '—' : 'manual'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </Card>
        <Card title="Alerts" testid="alerts" bodyClass="flush">
          <ErrorBox error={alerts.error} />
          {alerts.items && alerts.items.length === 0 && <Empty>No alerts</Empty>}
          {alerts.items && alerts.items.length > 0 && (
            <ul className="alerts">
              {alerts.items.map((a, i) => (
                <li key={i} className={'alert alert-' + a.severity}>
                  <div className="alert-h">
                    <Badge state={a.severity === 'critical' ? 'critical' : 'warning'}>{a.severity}</Badge>
                    <span className="alert-kind">{a.kind}</span>
                    <span className="alert-obj">{a.object}</span>
                  </div>
                  <div className="alert-msg">{a.message}</div>
                </li>
              ))}
            </ul>
          )}
        </Card>

      </div>
    </div>
  );
}
