import { DuckDBInstance } from "@duckdb/node-api";
const [a, b] = process.argv.slice(2);
const db = await DuckDBInstance.create(":memory:"); const c = await db.connect();
await c.run(`CREATE TABLE a AS SELECT * EXCLUDE (run_id, duration_ms, defense_us) FROM '${a}/episodes.parquet'`);
await c.run(`CREATE TABLE b AS SELECT * EXCLUDE (run_id, duration_ms, defense_us) FROM '${b}/episodes.parquet'`);
const r = await c.runAndReadAll(`SELECT count(*) n FROM (SELECT * FROM a EXCEPT SELECT * FROM b)`); console.log(r.getRowObjectsJS());
const cols = (await c.runAndReadAll(`SELECT column_name FROM (DESCRIBE a)`)).getRowObjectsJS().map((x) => x.column_name as string);
for (const col of cols) { const q = await c.runAndReadAll(`SELECT count(*) n FROM a JOIN b USING (episode_id) WHERE a.${col} IS DISTINCT FROM b.${col}`); const n = Number(q.getRowObjectsJS()[0].n); if (n) console.log(col, n); }
const s = await c.runAndReadAll(`SELECT a.agent_system, a.defense, a.model, a.attack_id, a.user_task, a.steps, b.steps bsteps, a.attack_success, b.attack_success bs, a.stops, b.stops bstops FROM a JOIN b USING (episode_id) WHERE a.steps IS DISTINCT FROM b.steps OR a.stops IS DISTINCT FROM b.stops OR a.attack_success IS DISTINCT FROM b.attack_success LIMIT 10`); console.table(s.getRowObjectsJS());
