// Node's pg client against Watershed's Postgres wire: reads its arguments (port, token), runs a few queries with
// parameters and prints each result as one JSON line, or the error's SQLSTATE.
const { Client } = require('pg');

async function main() {
  const [port, token] = process.argv.slice(2);
  const client = new Client({ host: '127.0.0.1', port: Number(port), user: 'node', password: token, database: 'lake' });
  await client.connect();
  const typed = await client.query(
    "SELECT $1::BIGINT + 1 AS n, $2::VARCHAR AS s, 1.25::DECIMAL(10,2) AS d, 0.1::DOUBLE AS f, true AS b, " +
    "DATE '2024-02-29' AS day, TIMESTAMPTZ '2024-01-02 03:04:05.123456+00' AS at, [1, 2] AS l, {'a': 'x'} AS st",
    [41, 'héllo 😀']);
  const row = typed.rows[0];
  console.log(JSON.stringify({ n: row.n, s: row.s, d: row.d, f: row.f, b: row.b, day: row.day instanceof Date ? 'date' : row.day,
    at: row.at.toISOString(), l: row.l, st: row.st }));
  const people = await client.query('SELECT id, name FROM raw.people WHERE id = $1', [2]);
  console.log(JSON.stringify(people.rows));
  try {
    await client.query('SELEC 1');
  } catch (e) {
    console.log(JSON.stringify({ error: e.code }));
  }
  await client.end();
}

main().catch((e) => {
  console.log(JSON.stringify({ fatal: e.code || String(e) }));
  process.exit(1);
});
