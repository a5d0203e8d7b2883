import { useEffect, useRef, useState } from 'react';
import { api } from './api.js';
import { usePoll } from './hooks.js';
import { Chart } from './Chart.jsx';
import { Empty, ErrorBox, Loading, PageHeader } from './ui.jsx';
import { href } from './util.js';

export default function Dashboards({ route }) {
  const name = route.parts[0];
  if (name) return <Dashboard key={name} name={name} />;
  return <DashboardList />;
}

function DashboardList() {
  const { data, error, loading } = usePoll(() => api.dashboards(), 0, []);
  const list = (data && data.dashboards) || [];
  return (
    <div className="page">
      <PageHeader title="Dashboards" sub={data ? list.length + ' in the project' : null} />
      <ErrorBox error={error} />
      {loading && !data && <Loading />}
      {data && list.length === 0 && (
        <Empty>No dashboards yet. Add a YAML file under dashboards/ in the project (panels of SQL and a chart each).</Empty>
      )}
      <div className="dash-cards">
        {list.map((d) => (
          <a key={d.name} className="dash-card" href={href('dashboards', d.name)} data-testid={'dashboard-' + d.name}>
            <div className="dash-card-title">{d.title || d.name}</div>
            <div className="dash-card-meta">
              <span>{d.panels} panel{d.panels === 1 ? '' : 's'}</span>
              <span>{d.refresh_seconds ? 'refresh ' + d.refresh_seconds + ' s' : 'no auto-refresh'}</span>
            </div>
            <div className="dash-card-file mono">{d.file}</div>
          </a>
        ))}
      </div>
    </div>
  );
}

function Panel({ panel, tick }) {
  const [state, setState] = useState({ result: null, error: null, loading: true });
  const inFlight = useRef(false);
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);
  // A refresh tick while the previous query still runs is skipped, so slow panels still get drawn.
  useEffect(() => {
    if (inFlight.current) return;
    inFlight.current = true;
    api.sql(panel.sql)
      .then((result) => mounted.current && setState({ result, error: null, loading: false }))
      .catch((error) => mounted.current && setState((s) => ({ result: s.result, error, loading: false })))
      .finally(() => {
        inFlight.current = false;
      });
  }, [panel.sql, tick]);

  const w = Math.max(1, Math.min(12, Number(panel.w) || 6));
  const h = Math.max(1, Number(panel.h) || 4);
  return (
    <div className="panel" data-testid="panel" style={{ gridColumn: 'span ' + w, gridRow: 'span ' + h }}>
      <div className="panel-h">
        <span className="panel-title" title={panel.sql}>{panel.title || panel.query || 'Panel'}</span>
        {panel.query && <a className="panel-q mono" href="#/sql" title={'saved query ' + panel.query}
          onClick={() => sessionStorage.setItem('watershed.sql.open', panel.sql)}>{panel.query}</a>}
      </div>
      <div className="panel-b">
        {state.error ? (
          <div className="panel-error" data-testid="panel-error" role="alert">{state.error.message}</div>
        ) : state.result ? (
          <Chart result={state.result} spec={panel.chart || { type: 'table' }} className="panel-chart" />
        ) : (
          <Loading />
        )}
      </div>
    </div>
  );
}

function Dashboard({ name }) {
  const { data: d, error, loading, refresh } = usePoll(() => api.dashboard(name), 0, [name]);
  const [tick, setTick] = useState(0);
  const [auto, setAuto] = useState(true);
  const [exportError, setExportError] = useState(null);
  const [updated, setUpdated] = useState(Date.now());
  const every = d && d.refresh_seconds ? Number(d.refresh_seconds) : 0;

  useEffect(() => {
    if (!every || !auto) return undefined;
    const t = setInterval(() => {
      setTick((x) => x + 1);
      setUpdated(Date.now());
    }, every * 1000);
    return () => clearInterval(t);
  }, [every, auto]);

  const exportGrafana = async () => {
    setExportError(null);
    try {
      const text = await api.grafana(name);
      const blob = new Blob([text], { type: 'application/json' });
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = name + '.grafana.json';
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    } catch (e) {
      setExportError(e);
    }
  };

  return (
    <div className="page dashboard-page">
      <PageHeader
        title={<><a href="#/dashboards" className="crumb">Dashboards</a><span className="crumb-sep">/</span><span>{d ? d.title || d.name : name}</span></>}
        sub={d ? (every ? (auto ? 'refreshing every ' + every + ' s' : 'auto-refresh paused') : 'no auto-refresh') + ' · ' + new Date(updated).toLocaleTimeString() : null}>
        {every > 0 && (
          <button type="button" className="btn" onClick={() => setAuto((a) => !a)}>{auto ? 'Pause' : 'Resume'}</button>
        )}
        <button type="button" className="btn" onClick={() => { setTick((x) => x + 1); setUpdated(Date.now()); refresh(); }}>Refresh</button>
        <button type="button" className="btn" data-testid="grafana-export" onClick={exportGrafana}>Export to Grafana</button>
      </PageHeader>
      <ErrorBox error={error} />
      <ErrorBox error={exportError} />
      {loading && !d && <Loading />}
      {d && (d.panels || []).length === 0 && <Empty>This dashboard has no panels.</Empty>}
      {d && (
        <div className="dash-grid">
          {(d.panels || []).map((p, i) => <Panel key={i + ':' + p.sql} panel={p} tick={tick} />)}
        </div>
      )}
    </div>
  );
}
