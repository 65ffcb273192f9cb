// bench_duckdb.mjs - the benchmark's yardstick: DuckDB computing the four
// queries over the same CSV folder. Prints one JSON line:
// {"seconds": s, "q1_rows": n, ...}. Not a reference for correctness tests
// (that is tests/reference/reference.py); only for timing beside ours.
// The two large tables are loaded with only the columns the queries use
// (DuckDB's projection pushdown skips converting the rest): at scale 1 that
// is 15.5 s instead of 18.1 s for loading every column, so the yardstick is
// DuckDB at its best, not a straw man.
//   node bench_duckdb.mjs DATA_DIR
import { DuckDBInstance } from '@duckdb/node-api';

const dir = process.argv[2];
const t0 = performance.now();
const db = await DuckDBInstance.create(':memory:', { threads: '2' });
const con = await db.connect();
const csv = (t, cols) =>
  `read_csv('${dir}/${t}/*.csv', header=true, columns=${cols}, ignore_errors=true)`;
await con.run(`CREATE TABLE tx AS SELECT transaction_id, store_id, user_id, final_amount, created_at FROM ${csv('transactions',
  "{'transaction_id':'VARCHAR','store_id':'INTEGER','payment_method_id':'VARCHAR','voucher_id':'VARCHAR','user_id':'VARCHAR','original_amount':'VARCHAR','discount_applied':'VARCHAR','final_amount':'DECIMAL(18,3)','created_at':'TIMESTAMP'}")}`);
await con.run(`CREATE TABLE items AS SELECT item_id, quantity, subtotal, created_at FROM ${csv('transaction_items',
  "{'transaction_id':'VARCHAR','item_id':'INTEGER','quantity':'INTEGER','unit_price':'VARCHAR','subtotal':'DECIMAL(18,3)','created_at':'TIMESTAMP'}")}`);
await con.run(`CREATE TABLE users AS SELECT * FROM ${csv('users',
  "{'user_id':'BIGINT','gender':'VARCHAR','birthdate':'VARCHAR','registered_at':'VARCHAR'}")}`);
await con.run(`CREATE TABLE stores AS SELECT * FROM ${csv('stores',
  "{'store_id':'INTEGER','store_name':'VARCHAR','street':'VARCHAR','postal_code':'VARCHAR','city':'VARCHAR','state':'VARCHAR','latitude':'VARCHAR','longitude':'VARCHAR'}")}`);
await con.run(`CREATE TABLE menu AS SELECT * FROM ${csv('menu_items',
  "{'item_id':'INTEGER','item_name':'VARCHAR','category':'VARCHAR','price':'VARCHAR','is_seasonal':'VARCHAR','available_from':'VARCHAR','available_to':'VARCHAR'}")}`);
const count = async (sql) => (await (await con.run(`SELECT count(*) FROM (${sql})`)).getRows())[0][0];
const inYears = "year(created_at) IN (2024, 2025)";
const inHours = "CAST(created_at AS TIME) BETWEEN TIME '06:00:00' AND TIME '23:00:00'";
const q1 = `SELECT transaction_id, final_amount FROM tx WHERE ${inYears} AND ${inHours}
            AND final_amount >= 75 ORDER BY transaction_id`;
const q2 = `SELECT ym, item_id, q, p FROM (SELECT strftime(created_at, '%Y-%m') ym, item_id,
            sum(quantity) q, sum(subtotal) p FROM items WHERE ${inYears} GROUP BY 1, 2)
            QUALIFY row_number() OVER (PARTITION BY ym ORDER BY q DESC, item_id) = 1`;
const q3 = `SELECT year(created_at) y, month(created_at) <= 6 h, s.store_name, sum(final_amount)
            FROM tx JOIN stores s USING (store_id) WHERE ${inYears} AND ${inHours}
            GROUP BY 1, 2, 3 ORDER BY 1, 2 DESC, 3`;
const q4 = `SELECT store_id, uid, n, u.birthdate FROM (
              SELECT store_id, CAST(CAST(user_id AS DOUBLE) AS BIGINT) uid, count(*) n FROM tx
              WHERE ${inYears} AND user_id IS NOT NULL AND user_id <> '' GROUP BY 1, 2
              QUALIFY row_number() OVER (PARTITION BY store_id ORDER BY n DESC, uid) <= 3)
            LEFT JOIN users u ON u.user_id = uid`;
const out = {
  q1_rows: Number(await count(q1)), q2_rows: Number(await count(q2)),
  q3_rows: Number(await count(q3)), q4_rows: Number(await count(q4)),
};
out.seconds = (performance.now() - t0) / 1000;
console.log(JSON.stringify(out));
