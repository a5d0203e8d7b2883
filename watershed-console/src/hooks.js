import { useCallback, useEffect, useRef, useState } from 'react';

function parseHash() {
  const raw = (typeof location !== 'undefined' ? location.hash : '').replace(/^#\/?/, '');
  const q = raw.indexOf('?');
  const path = q >= 0 ? raw.slice(0, q) : raw;
  const query = new URLSearchParams(q >= 0 ? raw.slice(q + 1) : '');
  const parts = path.split('/').filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  return { page: parts[0] || 'overview', parts: parts.slice(1), query, hash: raw };
}

/** Hash routing: #/page/arg1/arg2?k=v -> {page, parts, query}. */
export function useRoute() {
  const [route, setRoute] = useState(parseHash);
  useEffect(() => {
    const on = () => setRoute(parseHash());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}

export function navigate(hash) {
  const target = hash.startsWith('#') ? hash : '#' + hash;
  if (location.hash !== target) location.hash = target;
}

/**
 * Runs fn now and then every intervalMs (after the previous call finished; 0 = once).
 * intervalMs null = paused (no calls; the data shown stays). Keeps the last good data when a later
 * call fails, and resets when deps change.
 */
export function usePoll(fn, intervalMs, deps = []) {
  const fnRef = useRef(fn);
  fnRef.current = fn;
  const [state, setState] = useState({ data: null, error: null, loading: true, at: 0 });
  const [nonce, setNonce] = useState(0);
  const keyRef = useRef(null);
  const key = JSON.stringify(deps);

  useEffect(() => {
    let alive = true;
    let timer = null;
    if (keyRef.current !== key) {
      keyRef.current = key;
      setState({ data: null, error: null, loading: intervalMs !== null, at: 0 });
    }
    if (intervalMs === null) return undefined; // paused: keep what we have, fetch nothing
    const tick = async () => {
      try {
        const data = await fnRef.current();
        if (alive) setState({ data, error: null, loading: false, at: Date.now() });
      } catch (e) {
        if (alive) setState((s) => ({ data: s.data, error: e, loading: false, at: Date.now() }));
      }
      if (alive && intervalMs > 0) timer = setTimeout(tick, intervalMs);
    };
    tick();
    return () => {
      alive = false;
      if (timer) clearTimeout(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, intervalMs, nonce]);

  const refresh = useCallback(() => setNonce((n) => n + 1), []);
  return { ...state, refresh };
}

/** Re-renders every intervalMs (for "n s ago" texts). */
export function useNow(intervalMs = 1000) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(t);
  }, [intervalMs]);
  return now;
}
