const t0 = performance.now();
const { loadRunConfig } = await import("/work/main/benchmarks/runner/config.ts");
const { resolveRun, buildMatrix } = await import("/work/main/benchmarks/runner/matrix.ts");
const { runCampaign } = await import("/work/main/benchmarks/runner/episode.ts");
const t1 = performance.now();
const config = { ...loadRunConfig("default"), sample: 40 };
const run = resolveRun(config, {});
const t2 = performance.now();
const matrix = buildMatrix(config, run);
const t3 = performance.now();
console.log({ import: t1 - t0, resolve: t2 - t1, matrix: t3 - t2, campaigns: matrix.length });
const sizes = new Map(); for (const c of matrix) sizes.set(c.tasks.length, (sizes.get(c.tasks.length) ?? 0) + 1); console.log(sizes);
// time per campaign by agent system
const bySys = new Map();
let i = 0;
for (const c of matrix) { if (i++ % 7) continue; const s = performance.now(); await runCampaign(c, "x"); const d = performance.now() - s; const k = c.system.name; const v = bySys.get(k) ?? { n: 0, ms: 0, eps: 0 }; v.n++; v.ms += d; v.eps += c.tasks.length; bySys.set(k, v); }
for (const [k, v] of bySys) console.log(k, (v.ms / v.eps).toFixed(2), "ms/episode", v.eps);
