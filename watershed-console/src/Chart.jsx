import { useEffect, useMemo, useRef } from 'react';
import echarts from './echarts-parts.js';
import { ResultTable } from './ui.jsx';
import { columnKinds } from './util.js';

export const CHART_TYPES = ['line', 'bar', 'area', 'scatter', 'pie', 'table'];

export const PALETTE = ['#2563eb', '#16a34a', '#ea580c', '#9333ea', '#0891b2', '#dc2626', '#ca8a04', '#db2777', '#4b5563', '#65a30d'];

export const AXIS = {
  axisLine: { lineStyle: { color: '#cbd5e1' } },
  axisTick: { lineStyle: { color: '#cbd5e1' } },
  axisLabel: { color: '#64748b', fontSize: 11, hideOverlap: true },
  splitLine: { lineStyle: { color: '#eef1f5' } },
  nameTextStyle: { color: '#64748b', fontSize: 11 },
};

/**
 * Generic ECharts host: init on a div, setOption on change, ResizeObserver, dispose on unmount.
 * onReady(chart) is called once after init (for event handlers).
 */
export function EChart({ option, className = '', style, renderer = 'canvas', onReady, notMerge = true }) {
  const ref = useRef(null);
  const chartRef = useRef(null);
  useEffect(() => {
    const chart = echarts.init(ref.current, null, { renderer });
    chartRef.current = chart;
    if (onReady) onReady(chart);
    let frame = 0;
    const ro = new ResizeObserver(() => {
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(() => {
        if (!chart.isDisposed()) chart.resize();
      });
    });
    ro.observe(ref.current);
    return () => {
      cancelAnimationFrame(frame);
      ro.disconnect();
      chart.dispose();
      chartRef.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [renderer]);
  useEffect(() => {
    if (chartRef.current && option) chartRef.current.setOption(option, { notMerge, lazyUpdate: false });
  }, [option, notMerge]);
  return <div ref={ref} className={'echart ' + className} style={style} />;
}

/** Tiny line of [[epochMillis, value], ...]. */
export function Sparkline({ points, color = '#2563eb', width = 120, height = 26 }) {
  const option = useMemo(() => ({
    animation: false,
    grid: { left: 1, right: 1, top: 3, bottom: 2 },
    xAxis: { type: 'time', show: false },
    yAxis: { type: 'value', show: false, min: 0 },
    tooltip: {
      trigger: 'axis',
      confine: true,
      textStyle: { fontSize: 11 },
      formatter: (ps) => {
        const p = ps && ps[0];
        if (!p) return '';
        const d = new Date(p.value[0]);
        return d.toLocaleTimeString() + '<br/>' + (Math.round(p.value[1] * 10) / 10) + ' events/s';
      },
    },
    series: [{
      type: 'line', data: points || [], showSymbol: false, smooth: false,
      lineStyle: { width: 1.4, color }, areaStyle: { color, opacity: 0.12 },
    }],
  }), [points, color]);
  return <EChart option={option} className="sparkline" style={{ width, height }} />;
}

/** Fills in x / y from the result when the spec doesn't name existing columns. */
export function resolveSpec(result, spec) {
  const columns = (result && result.columns) || [];
  const kinds = columnKinds(result);
  const type = spec && CHART_TYPES.includes(spec.type) ? spec.type : null;
  let x = spec && spec.x != null && columns.includes(spec.x) ? spec.x : null;
  if (x == null) {
    const ti = kinds.indexOf('time');
    const si = kinds.indexOf('string');
    const idx = ti >= 0 ? ti : si >= 0 ? si : columns.length > 1 ? 0 : -1;
    x = idx >= 0 ? columns[idx] : columns[0] != null ? columns[0] : null;
  }
  let y = spec && Array.isArray(spec.y) ? spec.y.filter((c) => columns.includes(c) && c !== x) : [];
  if (y.length === 0) y = columns.filter((c, i) => kinds[i] === 'number' && c !== x);
  let t = type;
  if (!t) {
    const xKind = kinds[columns.indexOf(x)];
    t = y.length === 0 ? 'table' : xKind === 'time' ? 'line' : 'bar';
  }
  return { type: t, x, y };
}

function num(v) {
  if (v == null || v === '') return null;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : null;
}

function timeOf(v) {
  if (v == null) return null;
  if (typeof v === 'number') return v;
  const d = echarts.time.parse(v);
  const t = d.getTime();
  return Number.isNaN(t) ? null : t;
}

export function buildOption(result, spec) {
  const { type, x, y } = spec;
  const columns = result.columns || [];
  const rows = result.rows || [];
  const kinds = columnKinds(result);
  const xi = columns.indexOf(x);
  const xKind = kinds[xi];
  const yi = y.map((c) => columns.indexOf(c));
  const base = {
    color: PALETTE,
    animationDuration: 300,
    animationDurationUpdate: 200,
    textStyle: { fontFamily: 'inherit' },
    tooltip: { trigger: type === 'pie' || type === 'scatter' ? 'item' : 'axis', confine: true, textStyle: { fontSize: 12 } },
    legend: y.length > 1 || type === 'pie'
      ? { type: 'scroll', top: 0, left: 'center', textStyle: { fontSize: 11, color: '#475569' }, itemWidth: 14, itemHeight: 8 }
      : undefined,
    grid: { left: 8, right: 16, top: y.length > 1 ? 28 : 12, bottom: 8, outerBoundsMode: 'same', outerBoundsContain: 'axisLabel' },
  };

  if (type === 'pie') {
    const vi = yi[0];
    const data = rows
      .map((r) => ({ name: r[xi] == null ? 'null' : String(r[xi]), value: num(r[vi]) }))
      .filter((d) => d.value != null);
    return {
      ...base,
      grid: undefined,
      series: [{
        type: 'pie', name: y[0], radius: ['35%', '68%'], center: ['50%', '55%'], data,
        label: { show: data.length <= 12, fontSize: 11, color: '#475569' },
        labelLine: { show: data.length <= 12 },
        itemStyle: { borderColor: '#fff', borderWidth: 1 },
      }],
    };
  }

  const xType = type === 'scatter' && xKind === 'number' ? 'value' : xKind === 'time' ? 'time' : 'category';
  let ordered = rows;
  if (xType === 'time') {
    ordered = rows
      .map((r) => ({ r, t: timeOf(r[xi]) }))
      .filter((o) => o.t != null)
      .sort((a, b) => a.t - b.t)
      .map((o) => o.r);
  } else if (xType === 'value') {
    ordered = rows.slice().sort((a, b) => (num(a[xi]) ?? 0) - (num(b[xi]) ?? 0));
  }
  const categories = xType === 'category' ? ordered.map((r) => (r[xi] == null ? 'null' : String(r[xi]))) : undefined;
  const series = y.map((name, k) => {
    const i = yi[k];
    const data = xType === 'category'
      ? ordered.map((r) => num(r[i]))
      : ordered.map((r) => [xType === 'time' ? timeOf(r[xi]) : num(r[xi]), num(r[i])]);
    const s = { name, type: type === 'area' ? 'line' : type, data };
    if (type === 'line' || type === 'area') {
      s.showSymbol = data.length < 60;
      s.symbolSize = 4;
      s.lineStyle = { width: 1.8 };
      if (type === 'area') {
        s.areaStyle = { opacity: 0.18 };
        s.stack = y.length > 1 ? 'total' : undefined;
      }
    }
    if (type === 'bar') {
      s.barMaxWidth = 36;
      s.itemStyle = { borderRadius: [2, 2, 0, 0] };
    }
    if (type === 'scatter') s.symbolSize = 7;
    return s;
  });
  return {
    ...base,
    xAxis: { ...AXIS, type: xType, data: categories, name: undefined, boundaryGap: type === 'bar' || xType === 'category' ? true : false, splitLine: { show: false } },
    yAxis: { ...AXIS, type: 'value', scale: type === 'scatter' },
    dataZoom: ordered.length > 200 && xType !== 'category' ? [{ type: 'inside' }] : undefined,
    series,
  };
}

/**
 * <Chart result={{columns,types,rows}} spec={{type,x,y:[..]}} />
 * The container carries data-testid="chart", data-type, data-series (number of series drawn) and data-rows.
 */
export function Chart({ result, spec, height, className = '' }) {
  const resolved = useMemo(() => resolveSpec(result, spec), [result, spec]);
  const option = useMemo(
    () => (resolved.type === 'table' || !result ? null : buildOption(result, resolved)),
    [result, resolved]);
  const seriesCount = resolved.type === 'pie' ? (resolved.y.length > 0 ? 1 : 0) : resolved.y.length;
  const style = height ? { height } : undefined;
  return (
    <div className={'chart chart-' + resolved.type + ' ' + className} data-testid="chart" data-type={resolved.type}
      data-series={String(seriesCount)} data-rows={String(result && result.rows ? result.rows.length : 0)} style={style}>
      {resolved.type === 'table'
        ? <ResultTable result={result} className="chart-table" />
        : resolved.y.length === 0
          ? <div className="empty">No numeric column to plot. Pick a y column or use the table view.</div>
          : <EChart option={option} className="chart-canvas" />}
    </div>
  );
}
