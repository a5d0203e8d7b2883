// Formatting helpers and column-type classification shared by the pages.

export function fmtInt(n) {
  if (n == null || n === '') return '—';
  const x = Number(n);
  if (!Number.isFinite(x)) return String(n);
  return Math.round(x).toLocaleString('en-US');
}

/** Events per second as plain text the tests can parse: one decimal at most, no separators. */
export function fmtRate(n) {
  if (n == null) return '0';
  const x = Number(n);
  if (!Number.isFinite(x)) return String(n);
  return String(Math.round(x * 10) / 10);
}

export function fmtBytes(n) {
  if (n == null) return '—';
  let x = Number(n);
  if (!Number.isFinite(x)) return String(n);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  while (Math.abs(x) >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return (i === 0 ? String(Math.round(x)) : x.toFixed(x >= 100 ? 0 : x >= 10 ? 1 : 2)) + ' ' + units[i];
}

export function fmtDuration(ms) {
  if (ms == null) return '—';
  const x = Number(ms);
  if (!Number.isFinite(x)) return String(ms);
  if (x < 1000) return Math.round(x) + ' ms';
  const s = x / 1000;
  if (s < 60) return s.toFixed(s < 10 ? 2 : 1) + ' s';
  const m = Math.floor(s / 60);
  if (m < 60) return m + ' min ' + Math.round(s - m * 60) + ' s';
  const h = Math.floor(m / 60);
  return h + ' h ' + (m - h * 60) + ' min';
}

export function parseTime(v) {
  if (v == null || v === '') return null;
  if (typeof v === 'number') return v;
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : t;
}

function pad(n, w = 2) {
  return String(n).padStart(w, '0');
}

/** Local wall-clock time, "2026-11-22 18:00:01". */
export function fmtTime(v) {
  const t = parseTime(v);
  if (t == null) return v == null ? '—' : String(v);
  const d = new Date(t);
  return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' +
    pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
}

/** "12 s ago", "3 min ago", "in 5 min". */
export function relTime(v, now = Date.now()) {
  const t = parseTime(v);
  if (t == null) return '—';
  let s = Math.round((now - t) / 1000);
  const future = s < 0;
  s = Math.abs(s);
  let text;
  if (s < 120) text = s + ' s';
  else if (s < 7200) text = Math.round(s / 60) + ' min';
  else if (s < 172800) text = Math.round(s / 3600) + ' h';
  else text = Math.round(s / 86400) + ' d';
  return future ? 'in ' + text : text + ' ago';
}

const NUMERIC = /^(TINYINT|SMALLINT|INTEGER|INT|INT1|INT2|INT4|INT8|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|FLOAT4|FLOAT8|DOUBLE|REAL|DECIMAL|NUMERIC|LONG|SHORT|BYTE)\b/;
const TEMPORAL = /^(TIMESTAMP|TIMESTAMPTZ|DATE|TIME|DATETIME)/;

export function isNumericType(t) {
  return !!t && NUMERIC.test(String(t).toUpperCase());
}

export function isTemporalType(t) {
  return !!t && TEMPORAL.test(String(t).toUpperCase());
}

export function isStringType(t) {
  return !!t && /^(VARCHAR|STRING|TEXT|CHAR|BPCHAR|UUID|ENUM)/.test(String(t).toUpperCase());
}

/** Column kinds of a result: 'number' | 'time' | 'string' | 'other', falling back to the values. */
export function columnKinds(result) {
  const cols = (result && result.columns) || [];
  const types = (result && result.types) || [];
  const rows = (result && result.rows) || [];
  return cols.map((_, i) => {
    const t = types[i];
    if (isNumericType(t)) return 'number';
    if (isTemporalType(t)) return 'time';
    if (isStringType(t)) return 'string';
    if (t) return 'other';
    const v = rows.find((r) => r[i] != null);
    if (v == null) return 'other';
    if (typeof v[i] === 'number') return 'number';
    if (typeof v[i] === 'string' && /^\d{4}-\d\d-\d\d([T ]\d\d:\d\d)?/.test(v[i])) return 'time';
    if (typeof v[i] === 'string') return 'string';
    return 'other';
  });
}

export function cellText(v) {
  if (v == null) return null;
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function href(...parts) {
  return '#/' + parts.filter((p) => p != null && p !== '').map((p) => encodeURIComponent(p)).join('/');
}

// A column so named must be quoted (DuckDB 2.0): duckdb_keywords() of category 'reserved', and those of category
// 'type_function' that DuckDB refused unquoted in SELECT x FROM t WHERE x = 1
const RESERVED = new Set(('all analyse analyze and any array as asc asymmetric both case cast check collate column constraint create ' +
  'default deferrable desc describe distinct do else end except false fetch for foreign from group having in initially ' +
  'intersect into lambda lateral leading limit not null offset on only or order pivot pivot_longer pivot_wider placing ' +
  'primary qualify references returning select show some summarize symmetric table then to trailing true union unique ' +
  'unpivot using variadic when where window with ' +
  'anti asof at authorization binary by collation concurrently cross freeze full glob ilike inner is isnull join left like ' +
  'natural notnull outer overlaps positional right semi similar tablesample unpack verbose').split(' '));

/** A column name as DuckDB reads it: quoted when it is not a plain lower-case identifier or is reserved. */
export function quoteIdentifier(name) {
  return /^[a-z_][a-z0-9_]*$/.test(name) && !RESERVED.has(name) ? name : '"' + name.replace(/"/g, '""') + '"';
}

/** A table name (raw.clicks) with each part quoted as DuckDB needs. */
export function quoteTable(name) {
  return name.split('.').map(quoteIdentifier).join('.');
}
