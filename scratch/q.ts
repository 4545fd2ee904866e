import { DuckDBInstance } from "@duckdb/node-api";
const db = await DuckDBInstance.create(":memory:"); const c = await db.connect();
for (const q of ["SELECT md5_number_lower('a') x, md5_number_upper('a') y", "SELECT sum(md5_number_lower(i::VARCHAR)::HUGEINT) s FROM range(5) t(i)", "SELECT current_setting('temp_directory') t, current_setting('memory_limit') m"]) {
  try { console.log((await c.runAndReadAll(q)).getRowObjectsJS()); } catch (e) { console.log(q, (e as Error).message); }
}
