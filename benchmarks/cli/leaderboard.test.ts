import { execFileSync } from "node:child_process";
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
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CHARTS = ["pareto", "surface-heatmap", "layer-ablation", "generalization", "utility-security", "attribution", "infection-spread", "campaigns"];

let out: string;
let runDir: string;
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
  runDir = summary.dir;
  out = mkdtempSync(join(tmpdir(), "anis-lb-"));
  ({ entries } = await buildLeaderboard([summary.dir], { out, maxAutoimmunity: 0.25, maxHarmfulAutoimmunity: 0.1, maxErrorRate: 0.02, minBlockBase: 5, baseline: "none", allowMixed: false }));
}, 240_000);

/** The explorer's list, as its page holds it. */
const explorerData = (dir: string) => {
  const html = readFileSync(join(dir, "index.html"), "utf8");
  return JSON.parse(html.match(/<script id="data" type="application\/json">(.*?)<\/script>/s)![1]!) as { fields: string[]; dictionaries: Record<string, string[]>; rows: unknown[][] };
};

describe("the episode explorer", () => {
  it("lists every episode of the runs, each in an episode file that holds its story", async () => {
    const data = explorerData(join(out, "explorer"));
    const { queryRows, openResults } = await import("../../analysis/results.ts");
    const db = await openResults([runDir]);
    const [{ n }] = (await queryRows(db.connection, "SELECT count(*) AS n FROM episodes")) as [{ n: number }];
    db.close();
    expect(data.rows.length).toBe(n);
    expect(data.dictionaries.defense![0]).toBe("none");
    const [id, , , , , , , , , , file] = data.rows[0]! as [string, ...unknown[]];
    const chunk = readFileSync(join(out, "explorer", "episodes", `${String(file)}.js`), "utf8");
    expect(chunk.startsWith(`anisEpisodes(${String(file)}, `)).toBe(true);
    expect(chunk).toContain(`"${id}":`);
  });

  it("every leaderboard cell link names a configuration, model and outcome the explorer lists", () => {
    const data = explorerData(join(out, "explorer"));
    const links = [...readFileSync(join(out, "index.html"), "utf8").matchAll(/href="explorer\/index\.html#([^"]+)"/g)].map((m) => new URLSearchParams(m[1]!.replaceAll("&#38;", "&")));
    expect(links.length).toBeGreaterThan(entries.length);
    for (const link of links) {
      for (const [field, value] of link) expect(data.dictionaries[field], `${field}=${value}`).toContain(value);
    }
  });

  it("`anis view` writes the same explorer for any run folder", () => {
    const dir = mkdtempSync(join(tmpdir(), "anis-view-"));
    const said = execFileSync(process.execPath, ["--import", "tsx", "benchmarks/cli/main.ts", "view", runDir, "--out", dir], { cwd: ROOT, encoding: "utf8" });
    expect(said).toContain(`wrote ${join(dir, "index.html")}`);
    expect(explorerData(dir).rows).toEqual(explorerData(join(out, "explorer")).rows);
  });
});

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

  it("a block-rate cell opens the explorer on the episodes it counts; an episode opens as its story, defense verdicts inline", async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu"] });
    try {
      const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
      const errors: string[] = [];
      page.on("console", (message) => {
        if (message.type() === "error") errors.push(message.text());
      });
      page.on("pageerror", (error) => errors.push(error.message));
      await page.goto(pathToFileURL(join(out, "index.html")).href);
      await page.locator(`a[href*="defense=l1&model=sim%3Aobedient&outcome=attack-stopped"]`).first().click();
      await page.waitForURL(/explorer\/index\.html#/);
      expect(await page.locator("#filter-defense").inputValue()).toBe("l1");
      expect(await page.locator("#filter-outcome").inputValue()).toBe("attack-stopped");
      const listed = await page.locator("#list tbody tr").count();
      expect(listed).toBeGreaterThan(0);
      // The first stopped attack whose story holds the approver's answer (l1 asks before out-of-scope actions).
      let story = "";
      for (let i = 0; i < listed && !story.includes("→ approver"); i++) {
        await page.locator("#list tbody tr").nth(i).click();
        await page.waitForFunction(() => document.querySelector("#story .events") !== null);
        story = await page.locator("#story").innerText();
      }
      expect(story).toContain("why: stopped by L1");
      expect(story).toContain("→ approver refused");
      expect(await page.locator("#story .event.defense").count()).toBeGreaterThan(0);
      expect(await page.locator("#story .event").count()).toBeGreaterThan(5);
      // The filter in the address opens the same view again.
      const url = page.url();
      expect(url).toMatch(/episode=ep-/);
      await page.goto(url);
      await page.waitForFunction(() => document.querySelector("#story .events") !== null);
      expect(await page.locator("#story h2").innerText()).toBe(new URL(url).hash.match(/episode=([^&]+)/)![1]);
      expect(errors).toEqual([]);
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, "explorer.png") });
    } finally {
      await browser.close();
    }
  }, 240_000);
});
