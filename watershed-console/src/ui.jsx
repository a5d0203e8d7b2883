import { cellText, columnKinds } from './util.js';

const TONES = {
  running: 'info', success: 'ok', succeeded: 'ok', pass: 'ok', ok: 'ok', healthy: 'ok',
  failed: 'bad', fail: 'bad', error: 'bad', critical: 'bad', dead: 'bad',
  retrying: 'warn', warn: 'warn', warning: 'warn', restarting: 'warn', degraded: 'warn',
  queued: 'muted', created: 'muted', pending: 'muted', scheduled: 'muted', starting: 'info',
  skipped: 'light', stopped: 'light', cancelled: 'light', canceled: 'light', finished: 'light',
};

export function tone(state) {
  if (state == null) return 'light';
  return TONES[String(state).toLowerCase()] || 'muted';
}

export function Badge({ state, children, title }) {
  const text = children != null ? children : state == null ? 'none' : String(state);
  return (
    <span className={'badge badge-' + tone(state)} title={title}>
      {text}
    </span>
  );
}

export function ErrorBox({ error, testid, children }) {
  if (!error && !children) return null;
  return (
    <div className="error-box" role="alert" data-testid={testid}>
      {children || (error && error.message) || String(error)}
    </div>
  );
}

export function Loading({ text = 'Loading…' }) {
  return <div className="loading">{text}</div>;
}

export function Empty({ children }) {
  return <div className="empty">{children}</div>;
}

export function Card({ title, actions, children, className = '', bodyClass = '', testid }) {
  return (
    <section className={'card ' + className} data-testid={testid}>
      {(title || actions) && (
        <header className="card-h">
          <h2>{title}</h2>
          {actions && <div className="card-actions">{actions}</div>}
        </header>
      )}
      <div className={'card-b ' + bodyClass}>{children}</div>
    </section>
  );
}

export function PageHeader({ title, sub, children }) {
  return (
    <div className="page-h">
      <div className="page-title">
        <h1>{title}</h1>
        {sub && <span className="page-sub">{sub}</span>}
      </div>
      <div className="page-actions">{children}</div>
    </div>
  );
}

/** Plain result grid: {columns, types, rows}; numbers right-aligned, NULL shown as null. */
export function ResultTable({ result, testid, maxRows = 2000, rowKey, rowClass, onRowClick, className = '' }) {
  const columns = (result && result.columns) || [];
  const rows = (result && result.rows) || [];
  const kinds = columnKinds(result);
  const shown = rows.length > maxRows ? rows.slice(0, maxRows) : rows;
  return (
    <div className={'table-wrap ' + className}>
      <table className="grid" data-testid={testid}>
        <thead>
          <tr>
            <th className="rownum">#</th>
            {columns.map((c, i) => (
              <th key={i} className={kinds[i] === 'number' ? 'num' : ''} title={result.types ? result.types[i] : undefined}>
                {c}
                {result.types && result.types[i] && <span className="coltype">{String(result.types[i]).toLowerCase()}</span>}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {shown.map((row, r) => (
            <tr key={rowKey ? rowKey(row, r) : r} className={rowClass ? rowClass(row, r) : undefined}
              onClick={onRowClick ? () => onRowClick(row, r) : undefined}>
              <td className="rownum">{r + 1}</td>
              {columns.map((_, i) => {
                const t = cellText(row[i]);
                return (
                  <td key={i} className={kinds[i] === 'number' ? 'num' : ''} title={t && t.length > 60 ? t : undefined}>
                    {t == null ? <span className="null">null</span> : t}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length > maxRows && <div className="note">Showing the first {maxRows} of {rows.length} rows.</div>}
      {rows.length === 0 && <div className="empty">No rows.</div>}
    </div>
  );
}
