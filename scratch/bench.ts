const { loadRunConfig } = await import("/work/main/benchmarks/runner/config.ts");
const { resolveRun, buildMatrix } = await import("/work/main/benchmarks/runner/matrix.ts");
const { runCampaign } = await import("/work/main/benchmarks/runner/episode.ts");
const config = { ...loadRunConfig("default"), sample: 40 };
const matrix = buildMatrix(config, resolveRun(config, {}));
const pick = matrix.filter((_, i) => i % 9 === 0);
for (const c of pick.slice(0, 60)) await runCampaign(c, "warm");
const bySys = new Map<string, { ms: number; eps: number }>();
const t0 = performance.now(); let total = 0;
for (const c of pick) { const s = performance.now(); await runCampaign(c, "x"); const d = performance.now() - s; const v = bySys.get(c.system.name) ?? { ms: 0, eps: 0 }; v.ms += d; v.eps += c.tasks.length; bySys.set(c.system.name, v); total += c.tasks.length; }
const secs = (performance.now() - t0) / 1000;
console.log([...bySys].map(([k, v]) => `${k} ${(v.ms / v.eps).toFixed(2)}`).join("  "), `| ${total} episodes ${(total / secs).toFixed(1)} ep/s`);
