import { useEffect, useMemo, useRef, useState } from 'react';
import echarts from './echarts-parts.js';
import dagre from '@dagrejs/dagre';
import { api } from './api.js';
import { navigate, usePoll } from './hooks.js';
import { ErrorBox, Loading, PageHeader } from './ui.jsx';
import { href } from './util.js';

const HEX = 'path://M5,0 L15,0 L20,8.66 L15,17.32 L5,17.32 L0,8.66 Z';

export const KINDS = {
  stream: { color: '#2563eb', symbol: 'circle', size: 14, label: 'stream' },
  table: { color: '#059669', symbol: 'rect', size: 12, label: 'table' },
  pipeline: { color: '#d97706', symbol: 'diamond', size: 17, label: 'pipeline' },
  live: { color: '#7c3aed', symbol: 'triangle', size: 15, label: 'live view' },
  model: { color: '#0891b2', symbol: 'roundRect', size: 13, label: 'model' },
  dashboard: { color: '#db2777', symbol: HEX, size: 15, label: 'dashboard' },
};
const OTHER = { color: '#64748b', symbol: 'circle', size: 12, label: 'other' };
const kindOf = (k) => KINDS[k] || OTHER;

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

function labelWidth(text) {
  return Math.round(String(text || '').length * 6.4) + 12;
}

// Layouts already computed, by graph signature: re-visiting the page or re-fetching an unchanged
// graph never runs dagre again.
const layoutCache = new Map();

function signature(graph) {
  return graph.nodes.map((n) => n.id).join('\n') + '\n--\n' + graph.edges.map((e) => e.from + '>' + e.to).join('\n');
}

/**
 * dagre's default ranking (network simplex) draws the tidiest small graphs but grows steeply: on a generated
 * 1,000-node project it took over 5 s. Past a few hundred nodes the tight-tree ranker is used instead
 * (bench/run console measures both sides of the line).
 */
export const ranker = (nodes) => (nodes > 250 ? 'tight-tree' : 'network-simplex');

/** dagre (rankdir LR) positions plus upstream/downstream adjacency; memoised per graph. */
export function layoutLineage(graph) {
  const key = signature(graph);
  const cached = layoutCache.get(key);
  if (cached) return cached;
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'LR', nodesep: 16, ranksep: 90, marginx: 24, marginy: 24, ranker: ranker(graph.nodes.length) });
  g.setDefaultEdgeLabel(() => ({}));
  const ids = new Set();
  for (const n of graph.nodes) {
    ids.add(n.id);
    g.setNode(n.id, { width: Math.min(240, Math.max(36, labelWidth(n.name))), height: 34 });
  }
  const up = new Map();
  const down = new Map();
  for (const e of graph.edges) {
    if (!ids.has(e.from) || !ids.has(e.to) || e.from === e.to) continue;
    g.setEdge(e.from, e.to);
    if (!down.has(e.from)) down.set(e.from, []);
    if (!up.has(e.to)) up.set(e.to, []);
    down.get(e.from).push(e.to);
    up.get(e.to).push(e.from);
  }
  dagre.layout(g);
  const pos = new Map();
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (const id of ids) {
    const n = g.node(id);
    const p = { x: n.x, y: n.y };
    pos.set(id, p);
    minX = Math.min(minX, p.x); maxX = Math.max(maxX, p.x);
    minY = Math.min(minY, p.y); maxY = Math.max(maxY, p.y);
  }
  const result = { pos, up, down, bounds: { minX, minY, maxX, maxY } };
  layoutCache.set(key, result);
  if (layoutCache.size > 4) layoutCache.delete(layoutCache.keys().next().value);
  return result;
}

/** Every node reachable through adj, with its distance in hops. */
function reach(start, adj) {
  const depth = new Map([[start, 0]]);
  const queue = [start];
  while (queue.length) {
    const id = queue.shift();
    for (const next of adj.get(id) || []) {
      if (!depth.has(next)) {
        depth.set(next, depth.get(id) + 1);
        queue.push(next);
      }
    }
  }
  depth.delete(start);
  return depth;
}

function buildOption(graph, layout, bright, focus) {
  const index = new Map();
  const data = graph.nodes.map((n, i) => {
    index.set(n.id, i);
    const k = kindOf(n.kind);
    const p = layout.pos.get(n.id);
    const lit = !bright || bright.has(n.id);
    const isFocus = n.id === focus;
    return {
      id: n.id,
      name: n.id,
      display: n.name,
      kind: n.kind,
      x: p.x,
      y: p.y,
      symbol: k.symbol,
      symbolSize: isFocus ? k.size + 6 : k.size,
      itemStyle: {
        color: k.color,
        opacity: lit ? 1 : 0.12,
        borderColor: isFocus ? '#0f172a' : '#ffffff',
        borderWidth: isFocus ? 2.5 : 1,
      },
      label: {
        opacity: lit ? 1 : 0.18,
        fontWeight: isFocus ? 'bold' : 'normal',
        color: isFocus ? '#0f172a' : '#334155',
      },
    };
  });
  // Two invisible anchors pad the bounding box: a one-row or tiny graph is not stretched to fill the
  // canvas, and the box is never degenerate (zero height).
  const b = layout.bounds;
  if (Number.isFinite(b.minX)) {
    const cx = (b.minX + b.maxX) / 2;
    const cy = (b.minY + b.maxY) / 2;
    const hw = Math.max((b.maxX - b.minX) / 2 + 40, 320);
    const hh = Math.max((b.maxY - b.minY) / 2 + 30, 160);
    for (const [x, y] of [[cx - hw, cy - hh], [cx + hw, cy + hh]]) {
      data.push({ id: '__anchor' + x, name: '__anchor' + x, x, y, symbol: 'none', symbolSize: 0, silent: true,
        label: { show: false }, tooltip: { show: false }, anchor: true });
    }
  }
  const edges = [];
  for (const e of graph.edges) {
    const s = index.get(e.from);
    const t = index.get(e.to);
    if (s == null || t == null || s === t) continue;
    const lit = !bright || (bright.has(e.from) && bright.has(e.to));
    edges.push({
      source: s,
      target: t,
      from: e.from,
      to: e.to,
      lineStyle: {
        opacity: lit ? (focus ? 0.95 : 0.7) : 0.05,
        color: focus && lit ? '#475569' : '#94a3b8',
        width: focus && lit ? 1.6 : 1,
      },
    });
  }
  return {
    animation: false,
    tooltip: {
      confine: true,
      textStyle: { fontSize: 12 },
      formatter: (p) => {
        if (p.dataType === 'edge') return escapeHtml(p.data.from) + ' &rarr; ' + escapeHtml(p.data.to);
        const d = p.data || {};
        if (d.anchor) return '';
        return '<b>' + escapeHtml(d.display) + '</b><br/><span style="color:#64748b">' + escapeHtml(kindOf(d.kind).label) + ' · ' + escapeHtml(d.id) + '</span>';
      },
    },
    series: [{
      id: 'lineage',
      type: 'graph',
      layout: 'none',
      roam: true,
      draggable: false,
      scaleLimit: { min: 0.05, max: 12 },
      nodeScaleRatio: 0.5,
      left: 16, right: 16, top: 16, bottom: 36,
      preserveAspect: 'contain',
      edgeSymbol: ['none', 'arrow'],
      edgeSymbolSize: [0, 7],
      label: {
        show: true,
        position: 'bottom',
        distance: 3,
        fontSize: 11,
        formatter: (p) => (p.data && p.data.display) || '',
      },
      labelLayout: { hideOverlap: true },
      lineStyle: { curveness: 0 },
      emphasis: { focus: 'none', scale: 1.25, label: { fontWeight: 'bold' }, lineStyle: { width: 2 } },
      data,
      edges,
    }],
  };
}

function KindIcon({ kind, size = 11 }) {
  const k = kindOf(kind);
  const s = size;
  let shape;
  switch (kind) {
    case 'stream': shape = <circle cx={s / 2} cy={s / 2} r={s / 2 - 0.5} />; break;
    case 'table': shape = <rect x="0.5" y="0.5" width={s - 1} height={s - 1} />; break;
    case 'pipeline': shape = <path d={`M${s / 2} 0 L${s} ${s / 2} L${s / 2} ${s} L0 ${s / 2} Z`} />; break;
    case 'live': shape = <path d={`M${s / 2} 0 L${s} ${s} L0 ${s} Z`} />; break;
    case 'model': shape = <rect x="0.5" y="0.5" width={s - 1} height={s - 1} rx="3" />; break;
    case 'dashboard': shape = <path d={`M${s * 0.25} 0 L${s * 0.75} 0 L${s} ${s / 2} L${s * 0.75} ${s} L${s * 0.25} ${s} L0 ${s / 2} Z`} />; break;
    default: shape = <circle cx={s / 2} cy={s / 2} r={s / 2 - 0.5} />;
  }
  return <svg width={s} height={s} className="kind-icon" aria-hidden="true" fill={k.color}>{shape}</svg>;
}

function NodeList({ testid, items, nodeById }) {
  if (items.length === 0) return <div className="muted small" data-testid={testid}>none</div>;
  return (
    <ul className="node-list" data-testid={testid}>
      {items.map(([id, depth]) => {
        const n = nodeById.get(id);
        return (
          <li key={id}>
            <a href={href('lineage', id)} data-node={id} title={id}>
              <KindIcon kind={n && n.kind} />
              <span className="nl-name">{n ? n.name : id}</span>
              <span className="nl-depth">{depth === 1 ? 'direct' : depth + ' hops'}</span>
            </a>
          </li>
        );
      })}
    </ul>
  );
}

function sortByDepth(map, nodeById) {
  return [...map.entries()].sort((a, b) => a[1] - b[1] ||
    String(nodeById.get(a[0])?.name || a[0]).localeCompare(String(nodeById.get(b[0])?.name || b[0])));
}

export default function Lineage({ route }) {
  const { data: graph, error, loading, refresh } = usePoll(() => api.lineage(), 0, []);
  const [search, setSearch] = useState('');
  const divRef = useRef(null);
  const chartRef = useRef(null);
  const lastGraphRef = useRef(null);
  const clickedRef = useRef(false);
  const lastFocusRef = useRef(null);

  const nodes = useMemo(() => (graph && graph.nodes) || [], [graph]);
  const edges = useMemo(() => (graph && graph.edges) || [], [graph]);
  const layout = useMemo(() => (graph ? layoutLineage({ nodes, edges }) : null), [graph, nodes, edges]);
  const nodeById = useMemo(() => new Map(nodes.map((n) => [n.id, n])), [nodes]);
  const requested = route.parts[0] || null;
  const focus = requested && nodeById.has(requested) ? requested : null;

  const upstream = useMemo(() => (focus && layout ? reach(focus, layout.up) : null), [focus, layout]);
  const downstream = useMemo(() => (focus && layout ? reach(focus, layout.down) : null), [focus, layout]);

  const q = search.trim().toLowerCase();
  const matches = useMemo(() => {
    if (!q) return null;
    return nodes.filter((n) => String(n.name).toLowerCase().includes(q) || String(n.id).toLowerCase().includes(q));
  }, [nodes, q]);

  const bright = useMemo(() => {
    if (focus) return new Set([focus, ...upstream.keys(), ...downstream.keys()]);
    if (matches) return new Set(matches.map((n) => n.id));
    return null;
  }, [focus, upstream, downstream, matches]);

  const option = useMemo(
    () => (graph && layout ? buildOption({ nodes, edges }, layout, bright, focus) : null),
    [graph, nodes, edges, layout, bright, focus]);

  // One chart instance for the page's life: clicks focus nodes, a click on empty canvas clears focus.
  useEffect(() => {
    if (!divRef.current) return undefined;
    const chart = echarts.init(divRef.current);
    chartRef.current = chart;
    chart.on('click', (p) => {
      if (p.dataType === 'node' && p.data && p.data.id && !p.data.anchor) {
        clickedRef.current = true;
        navigate(href('lineage', p.data.id));
      }
    });
    let down = null;
    const zr = chart.getZr();
    zr.on('mousedown', (e) => { down = [e.offsetX, e.offsetY]; });
    zr.on('click', (e) => {
      const moved = down && Math.hypot(e.offsetX - down[0], e.offsetY - down[1]) > 4;
      if (!e.target && !moved) navigate('#/lineage');
    });
    let frame = 0;
    const ro = new ResizeObserver(() => {
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(() => !chart.isDisposed() && chart.resize());
    });
    ro.observe(divRef.current);
    return () => {
      cancelAnimationFrame(frame);
      ro.disconnect();
      chart.dispose();
      chartRef.current = null;
      lastGraphRef.current = null;
    };
  }, [graph != null]); // eslint-disable-line react-hooks/exhaustive-deps

  // Focus changes only restyle nodes (merge into the same series): no re-layout, roam state kept.
  useEffect(() => {
    const chart = chartRef.current;
    if (!chart || !option) return;
    const fresh = lastGraphRef.current !== graph;
    chart.setOption(option, { notMerge: fresh });
    lastGraphRef.current = graph;
    if (focus && focus !== lastFocusRef.current && !clickedRef.current && !fresh) {
      const p = layout.pos.get(focus);
      if (p) chart.setOption({ series: [{ id: 'lineage', center: [p.x, p.y] }] });
    }
    clickedRef.current = false;
    lastFocusRef.current = focus;
  }, [option, graph, focus, layout]);

  const resetView = () => {
    const chart = chartRef.current;
    if (chart && option) {
      chart.setOption(option, { notMerge: true });
    }
  };

  const onSearch = (value) => {
    setSearch(value);
    const v = value.trim().toLowerCase();
    if (!v) return;
    const exact = nodes.filter((n) => String(n.name).toLowerCase() === v || String(n.id).toLowerCase() === v);
    const all = nodes.filter((n) => String(n.name).toLowerCase().includes(v) || String(n.id).toLowerCase().includes(v));
    const pick = exact.length === 1 ? exact[0] : all.length === 1 ? all[0] : null;
    if (pick && pick.id !== focus) navigate(href('lineage', pick.id));
  };

  const onSearchKey = (e) => {
    if (e.key === 'Enter' && matches && matches.length) {
      const exact = matches.find((n) => String(n.name).toLowerCase() === q || String(n.id).toLowerCase() === q);
      navigate(href('lineage', (exact || matches[0]).id));
    } else if (e.key === 'Escape') {
      setSearch('');
      navigate('#/lineage');
    }
  };

  const focusNode = focus ? nodeById.get(focus) : null;
  const counts = useMemo(() => {
    const c = {};
    for (const n of nodes) c[n.kind] = (c[n.kind] || 0) + 1;
    return c;
  }, [nodes]);

  return (
    <div className="page lineage-page">
      <PageHeader title="Lineage" sub={graph ? nodes.length + ' nodes · ' + edges.length + ' edges' : null}>
        <input className="search" type="search" data-testid="lineage-search" placeholder="Find a stream, table, model…"
          value={search} onChange={(e) => onSearch(e.target.value)} onKeyDown={onSearchKey} />
        <button type="button" className="btn" onClick={resetView} title="Fit the whole graph">Fit</button>
        <button type="button" className="btn" onClick={refresh}>Reload</button>
      </PageHeader>
      <ErrorBox error={error} />
      {loading && !graph && <Loading />}
      {graph && (
        <div className="lineage-body">
          <div className="lineage-canvas">
            <div ref={divRef} className="lineage-graph" data-testid="lineage-graph"
              data-nodes={String(nodes.length)} data-edges={String(edges.length)} />
            <div className="legend">
              {Object.keys(KINDS).map((k) => (
                <span key={k} className="legend-item"><KindIcon kind={k} />{KINDS[k].label}{counts[k] ? ' ' + counts[k] : ''}</span>
              ))}
            </div>
            {nodes.length === 0 && <div className="lineage-empty">Nothing to show yet: the project declares no streams, pipelines, models or dashboards.</div>}
          </div>
          <aside className="side-panel">
            {matches && (
              <div className="side-section">
                <h3>Matches <span className="muted">{matches.length}</span></h3>
                {matches.length === 0 ? <div className="muted small">No node matches “{search}”.</div> : (
                  <ul className="node-list">
                    {matches.slice(0, 50).map((n) => (
                      <li key={n.id} className={n.id === focus ? 'current' : ''}>
                        <a href={href('lineage', n.id)} data-node={n.id} title={n.id}>
                          <KindIcon kind={n.kind} /><span className="nl-name">{n.name}</span>
                          <span className="nl-depth">{kindOf(n.kind).label}</span>
                        </a>
                      </li>
                    ))}
                    {matches.length > 50 && <li className="muted small">…and {matches.length - 50} more</li>}
                  </ul>
                )}
              </div>
            )}
            {focusNode ? (
              <div className="side-section" data-testid="lineage-focus" data-node={focusNode.id}>
                <div className="focus-h">
                  <KindIcon kind={focusNode.kind} size={14} />
                  <div>
                    <div className="focus-name">{focusNode.name}</div>
                    <div className="focus-id">{kindOf(focusNode.kind).label} · {focusNode.id}</div>
                  </div>
                </div>
                <div className="focus-links">
                  {focusNode.kind === 'table' && <a className="btn small" href={href('tables', focusNode.name)}>Open table</a>}
                  {focusNode.kind === 'model' && <a className="btn small" href="#/runs">Runs</a>}
                  {focusNode.kind === 'dashboard' && <a className="btn small" href={href('dashboards', focusNode.name)}>Open dashboard</a>}
                  <a className="btn small" href="#/lineage">Clear focus</a>
                </div>
                <h3>Upstream <span className="muted">{upstream.size}</span></h3>
                <NodeList testid="upstream" items={sortByDepth(upstream, nodeById)} nodeById={nodeById} />
                <h3>Downstream <span className="muted">{downstream.size}</span></h3>
                <NodeList testid="downstream" items={sortByDepth(downstream, nodeById)} nodeById={nodeById} />
              </div>
            ) : !matches && (
              <div className="side-section muted small">
                <p>Click a node to focus it: its upstream and downstream stay lit, the rest dims.</p>
                <p>Scroll to zoom, drag to pan, click the background to clear the focus.</p>
                {requested && !focus && <p className="warn-text">No node “{requested}” in the graph.</p>}
              </div>
            )}
          </aside>
        </div>
      )}
    </div>
  );
}
