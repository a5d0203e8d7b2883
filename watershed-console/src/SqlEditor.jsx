import { useEffect, useRef } from 'react';
import { EditorView, basicSetup } from 'codemirror';
import { keymap, placeholder } from '@codemirror/view';
import { Compartment, EditorState, Prec } from '@codemirror/state';
import { syntaxTree } from '@codemirror/language';
import { PostgreSQL, SQLDialect, sql } from '@codemirror/lang-sql';

const DUCKDB_KEYWORDS =
  'qualify pivot unpivot asof positional exclude replace columns struct describe summarize attach detach pragma ' +
  'install load copy export import ilike glob similar sample tablesample using window filter within over ' +
  'partition range rows groups unbounded preceding following current ties others nulls first last returning ' +
  'materialized recursive lateral semi anti by all any some distinct on interval';
const DUCKDB_TYPES =
  'tinyint utinyint usmallint uinteger ubigint hugeint uhugeint varchar blob timestamptz timestamp_ms ' +
  'timestamp_ns timestamp_s struct map list union uuid interval';
const DUCKDB_BUILTIN =
  'count sum avg min max median mode quantile_cont quantile_disc approx_count_distinct approx_quantile ' +
  'arg_max arg_min first last any_value list string_agg histogram bit_and bit_or bool_and bool_or stddev ' +
  'variance corr date_trunc date_part date_diff date_add datepart datediff epoch epoch_ms make_date make_timestamp ' +
  'now current_date current_timestamp strftime strptime time_bucket to_timestamp age extract ' +
  'coalesce nullif greatest least ifnull round floor ceil abs ln log10 exp pow sqrt random ' +
  'length lower upper trim ltrim rtrim substr substring concat concat_ws replace split_part starts_with ' +
  'contains regexp_matches regexp_extract regexp_replace md5 hash json_extract json_extract_string ' +
  'json_extract_path json_keys json_array_length to_json row_number rank dense_rank lag lead ntile ' +
  'percent_rank cume_dist unnest generate_series range typeof try_cast';

/** PostgreSQL with DuckDB's extra keywords, types and common functions. */
export const DuckDB = SQLDialect.define({
  ...PostgreSQL.spec,
  keywords: PostgreSQL.spec.keywords + ' ' + DUCKDB_KEYWORDS,
  types: (PostgreSQL.spec.types || '') + ' ' + DUCKDB_TYPES,
  builtin: DUCKDB_BUILTIN,
});

// duckdb_keywords() WHERE keyword_category = 'reserved' (DuckDB 2.0): a column so named must be quoted
const RESERVED = new Set(('all analyse analyze and any array as asc asymmetric both case cast check collate column constraint create ' +
  'default deferrable desc describe distinct do else end except false fetch for foreign from group having in initially ' +
  'intersect into lambda lateral leading limit not null offset on only or order pivot pivot_longer pivot_wider placing ' +
  'primary qualify references returning select show some summarize symmetric table then to trailing true union unique ' +
  'unpivot using variadic when where window with').split(' '));

/** A column name as DuckDB reads it: quoted when it is not a plain lower-case identifier or is reserved. */
export function quoteIdentifier(name) {
  return /^[a-z_][a-z0-9_]*$/.test(name) && !RESERVED.has(name) ? name : '"' + name.replace(/"/g, '""') + '"';
}

const TABLE_REFERENCE = /\b(?:from|join)\s+((?:"[^"]+"|\w+)(?:\s*\.\s*(?:"[^"]+"|\w+))*)/gi;

/**
 * Completes unqualified column names of the tables the current statement reads (after FROM or JOIN). lang-sql
 * completes a column only after its table's name or alias and a dot; people type SELECT pa… and expect page.
 */
export function columnsInScope(schema) {
  return (context) => {
    const word = context.matchBefore(/\w+$/);
    if (!word && !context.explicit) return null;
    const from = word ? word.from : context.pos;
    if (context.state.sliceDoc(Math.max(0, from - 1), from) === '.') return null; // qualified: lang-sql's
    const node = syntaxTree(context.state).resolveInner(context.pos, -1);
    if (/String|Comment|QuotedIdentifier/.test(node.name)) return null;
    const doc = context.state.doc.toString();
    const start = doc.lastIndexOf(';', context.pos - 1) + 1;
    const semicolon = doc.indexOf(';', context.pos);
    const statement = doc.slice(start, semicolon < 0 ? doc.length : semicolon);
    const options = [];
    const seen = new Set();
    for (const m of statement.matchAll(TABLE_REFERENCE)) {
      const table = m[1].replace(/"|\s/g, '');
      for (const column of schema[table] || []) {
        if (seen.has(column)) continue;
        seen.add(column);
        options.push({ label: column, type: 'property', detail: table, boost: 1,
          apply: quoteIdentifier(column) });
      }
    }
    return options.length ? { from, options, validFor: /^\w*$/ } : null;
  };
}

function language(schema) {
  return [
    sql({ dialect: DuckDB, schema: schema || {}, upperCaseKeywords: true }),
    DuckDB.language.data.of({ autocomplete: columnsInScope(schema || {}) }),
  ];
}

const theme = EditorView.theme({
  '&': { fontSize: '13px', height: '100%', backgroundColor: '#fff' },
  '.cm-scroller': { fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace', lineHeight: '1.5' },
  '.cm-gutters': { backgroundColor: '#f8fafc', borderRight: '1px solid #e5e7eb', color: '#94a3b8' },
  '.cm-activeLine': { backgroundColor: '#f1f5f9' },
  '.cm-activeLineGutter': { backgroundColor: '#eef2f7' },
  '&.cm-focused': { outline: 'none' },
  '.cm-placeholder': { color: '#94a3b8' },
});

/**
 * CodeMirror 6 SQL editor. schema: {"raw.clicks": ["user", ...]} for completion.
 * Mod-Enter (Ctrl/Cmd-Enter) calls onRun(currentSql). window.__watershedSetSql / __watershedGetSql
 * let a test set and read the text.
 */
export default function SqlEditor({ initial = '', schema, onRun, onChange, viewRef }) {
  const hostRef = useRef(null);
  const viewLocal = useRef(null);
  const langRef = useRef(new Compartment());
  const onRunRef = useRef(onRun);
  const onChangeRef = useRef(onChange);
  onRunRef.current = onRun;
  onChangeRef.current = onChange;

  useEffect(() => {
    const run = (view) => {
      if (onRunRef.current) onRunRef.current(view.state.doc.toString());
      return true;
    };
    const view = new EditorView({
      parent: hostRef.current,
      state: EditorState.create({
        doc: initial,
        extensions: [
          Prec.highest(keymap.of([
            { key: 'Mod-Enter', run, preventDefault: true },
            { key: 'Ctrl-Enter', run, preventDefault: true },
          ])),
          basicSetup,
          langRef.current.of(language(schema)),
          placeholder('SELECT … FROM raw.<stream> — Ctrl+Enter runs the query'),
          EditorView.lineWrapping,
          theme,
          EditorView.updateListener.of((u) => {
            if (u.docChanged && onChangeRef.current) onChangeRef.current(u.state.doc.toString());
          }),
        ],
      }),
    });
    viewLocal.current = view;
    if (viewRef) viewRef.current = view;
    const setSql = (text) => {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: String(text) } });
      view.focus();
    };
    window.__watershedSetSql = setSql;
    window.__watershedGetSql = () => view.state.doc.toString();
    return () => {
      if (window.__watershedSetSql === setSql) {
        delete window.__watershedSetSql;
        delete window.__watershedGetSql;
      }
      view.destroy();
      viewLocal.current = null;
      if (viewRef) viewRef.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    const view = viewLocal.current;
    if (!view) return;
    view.dispatch({ effects: langRef.current.reconfigure(language(schema)) });
  }, [schema]);

  return <div className="editor" data-testid="sql-editor" ref={hostRef} />;
}
