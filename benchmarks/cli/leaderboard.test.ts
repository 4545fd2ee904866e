import { existsSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium } from "playwright-core";
import { beforeAll, describe, expect, it } from "vitest";
import { buildLeaderboard, type LeaderboardEntry, rankEntries } from "../../analysis/leaderboard.ts";
import { renderPng } from "../../analysis/render.ts";
import { loadRunConfig } from "../runner/config.ts";
import { executeRun } from "../runner/run.ts";

/**
 * The leaderboard end to end: a real (small) run, the leaderboard built from it, and the page opened in headless
 * Chromium. The browser part needs Debian's `chromium` (CHROMIUM_PATH to point elsewhere); it skips without one,
 * and CI, which installs it, requires it (ANIS_REQUIRE_BROWSER=1).
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARTIFACTS = fileURLToPath(new URL("../../test-artifacts", import.meta.url));
const CHARTS = ["pareto", "surface-heatmap", "layer-ablation", "generalization", "utility-security", "attribution", "infection-spread", "campaigns"];

let out: string;
let entries: LeaderboardEntry[];

beforeAll(async () => {
  // A sample of the whole corpus plus the workspace's multi-agent and long-campaign cases, so every chart has data.
  const config = {
    ...loadRunConfig("quick"),
    suites: ["workspace"],
    agents: ["single", "team"],
    defenses: ["none", "l1", "l4", "tower"],
    attacks: "*-on-team,*--campaign-*,email-*",
    sample: 24,
  };
  const summary = await executeRun({ config, out: mkdtempSync(join(tmpdir(), "anis-lb-run-")), runId: "leaderboard-fixture", endpoint: {} });
  out = mkdtempSync(join(tmpdir(), "anis-lb-"));
  ({ entries } = await buildLeaderboard([summary.dir], { out, maxAutoimmunity: 0.25, maxHarmfulAutoimmunity: 0.1, maxErrorRate: 0.02, minBlockBase: 5, baseline: "none", allowMixed: false }));
}, 240_000);

describe("leaderboard files", () => {
  it("writes the page, the Markdown, the data and every chart as Vega-Lite, SVG and PNG", () => {
    for (const file of ["index.html", "leaderboard.md", "data.json", "assets/vega.min.js", "assets/vega-lite.min.js", "runs/leaderboard-fixture/manifest.json"]) {
      expect(existsSync(join(out, file)), file).toBe(true);
    }
    for (const chart of CHARTS) for (const ext of ["vl.json", "svg", "png"]) expect(existsSync(join(out, "charts", `${chart}.${ext}`)), `${chart}.${ext}`).toBe(true);
  });

  it("draws the text of its charts into the PNGs (the bundled font is used)", () => {
    const svg = readFileSync(join(out, "charts", "pareto.svg"), "utf8");
    expect(svg).toMatch(/<text[^>]*>block rate<\/text>/);
    const withoutText = svg.replace(/<text[^>]*>[^<]*<\/text>/g, "");
    expect(renderPng(svg).equals(renderPng(withoutText))).toBe(false);
  });

  it("the page needs no network: every script is a local file", () => {
    const html = readFileSync(join(out, "index.html"), "utf8");
    const sources = [...html.matchAll(/<script src="([^"]+)"/g)].map((m) => m[1]);
    expect(sources).toEqual(["assets/vega.min.js", "assets/vega-lite.min.js"]);
    expect(html).not.toMatch(/https?:\/\/(?!vega\.github\.io\/schema)/);
  });

  it("ranks by block rate within both bounds, links each row to its run manifest, names its approver, and leaves the baseline unranked", () => {
    const obedient = entries.filter((e) => e.model === "sim:obedient");
    expect(obedient.find((e) => e.defense === "none")).toMatchObject({ rank: null, unranked: "baseline" });
    const ranked = obedient.filter((e) => e.rank !== null);
    expect(ranked.length).toBeGreaterThan(0);
    for (const e of ranked) expect(e.metrics.n_block_base).toBeGreaterThanOrEqual(5);
    for (const e of ranked) expect(e.metrics.autoimmunity!).toBeLessThanOrEqual(0.25);
    for (const e of ranked) expect(e.metrics.harmful_autoimmunity!).toBeLessThanOrEqual(0.1);
    expect(obedient.every((e) => e.approver.startsWith("documented human"))).toBe(true);
    expect(readFileSync(join(out, "leaderboard.md"), "utf8")).toContain("documented human: approves 0.25→0.7 of unneeded actions, refuses 0.1 of needed ones");
    expect(ranked.map((e) => e.metrics.block_rate)).toEqual([...ranked.map((e) => e.metrics.block_rate)].sort((a, b) => b! - a!));
    expect(obedient.every((e) => e.runs.includes("leaderboard-fixture"))).toBe(true);
    expect(readFileSync(join(out, "leaderboard.md"), "utf8")).toContain("(runs/leaderboard-fixture/manifest.json)");
  });

  it("ranks no block rate that rests on fewer attack units than the bound, and says why in the rank column", () => {
    const rows = entries.map((e) => e.metrics);
    const strict = rankEntries(rows, new Map(), { maxAutoimmunity: 1, maxHarmfulAutoimmunity: 1, maxErrorRate: 1, baseline: "none", minBlockBase: 1000 });
    expect(strict.every((e) => e.rank === null)).toBe(true);
    for (const e of strict.filter((x) => x.defense !== "none" && x.metrics.block_rate !== null)) expect(e.unranked).toBe(`n ${e.metrics.n_block_base} < 1000`);
    // The default bound is 30.
    const byDefault = rankEntries(rows, new Map(), { maxAutoimmunity: 1, maxHarmfulAutoimmunity: 1, maxErrorRate: 1, baseline: "none" });
    for (const e of byDefault) if (e.rank !== null) expect(e.metrics.n_block_base).toBeGreaterThanOrEqual(30);
  });
});

const browserAvailable = existsSync(CHROMIUM);
if (!browserAvailable && process.env.ANIS_REQUIRE_BROWSER !== "1") {
  console.warn(`skipping the leaderboard browser test: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
}

describe.runIf(browserAvailable || process.env.ANIS_REQUIRE_BROWSER === "1")("the leaderboard page in headless Chromium", () => {
  it("renders every chart with marks and logs no console errors", async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu"] });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      const errors: string[] = [];
      page.on("console", (message) => {
        if (message.type() === "error") errors.push(message.text());
      });
      page.on("pageerror", (error) => errors.push(error.message));
      await page.goto(pathToFileURL(join(out, "index.html")).href);
      const charts = await page.locator("[data-chart]").count();
      expect(charts).toBe(CHARTS.length);
      await page.waitForFunction((n) => document.querySelectorAll("[data-chart][data-rendered=true]").length === n, charts, { timeout: 120_000 });
      const marks = await page.evaluate(() =>
        Object.fromEntries([...document.querySelectorAll<HTMLElement>("[data-chart]")].map((el) => [el.dataset.chart, el.querySelectorAll("svg g[class^='mark-'] path, svg g[class^='mark-'] text, svg g[class^='mark-'] line").length])),
      );
      for (const chart of CHARTS) expect(marks[chart], `${chart} has marks`).toBeGreaterThan(0);
      expect(errors).toEqual([]);
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, "leaderboard.png"), fullPage: true });
    } finally {
      await browser.close();
    }
  }, 240_000);
});
