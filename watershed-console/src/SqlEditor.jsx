import { useEffect, useRef } from 'react';
import { EditorView, basicSetup } from 'codemirror';
import { keymap, placeholder } from '@codemirror/view';
import { Compartment, EditorState, Prec } from '@codemirror/state';
import { syntaxTree } from '@codemirror/language';
import { PostgreSQL, SQLDialect, sql } from '@codemirror/lang-sql';
import { quoteIdentifier } from './util.js';

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

const NAME = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)`;
const QUALIFIED = new RegExp(String.raw`^${NAME}(?:\s*\.\s*${NAME})*`);
const FROM_OR_JOIN = /\b(?:from|join)\s+/gi;
// where a FROM list or a JOIN's table ends
const CLAUSE_END = /\b(?:where|group|order|having|limit|offset|qualify|window|union|intersect|except|join|on|using|left|right|inner|full|cross|natural|positional|asof|semi|anti|select)\b|[();]/i;

/** A table reference as the schema names it: unquoted parts lower-cased (DuckDB folds them), quoted ones as written. */
function tableName(reference) {
  return reference.match(new RegExp(NAME, 'g'))
    .map((p) => (p.startsWith('"') ? p.slice(1, -1).replace(/""/g, '"') : p.toLowerCase())).join('.');
}

/** The tables a statement reads: after FROM (a comma-separated list) and JOIN, aliases aside. */
export function tablesRead(statement) {
  const tables = [];
  FROM_OR_JOIN.lastIndex = 0;
  for (let m = FROM_OR_JOIN.exec(statement); m; m = FROM_OR_JOIN.exec(statement)) {
    const rest = statement.slice(FROM_OR_JOIN.lastIndex);
    const end = rest.search(CLAUSE_END);
    for (const item of (end < 0 ? rest : rest.slice(0, end)).split(',')) {
      const reference = item.trim().match(QUALIFIED);
      if (reference) tables.push(tableName(reference[0]));
    }
  }
  return tables;
}

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
    if (/\b(?:from|join)\s+(?:[\w".]+\s*,\s*)*$/i.test(doc.slice(start, from))) return null; // a table name is being typed
    const semicolon = doc.indexOf(';', context.pos);
    const statement = doc.slice(start, semicolon < 0 ? doc.length : semicolon);
    const options = [];
    const seen = new Set();
    for (const table of tablesRead(statement)) {
      for (const column of schema[table] || []) {
        if (seen.has(column)) continue;
        seen.add(column);
        options.push({ label: column, type: 'property', detail: table, boost: 1, apply: quoteIdentifier(column) });
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
