import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { EPISODE_OUTCOMES, eventParts, OUTCOME_SQL, outcomeOf, whyOf } from "./episodes.ts";
import { makeOutputDir } from "./output.ts";
import { queryRows, type ResultsDatabase } from "./results.ts";

/**
 * An offline episode explorer: one page that lists a run's episodes, filtered by configuration, model, suite, family
 * and outcome, and opens any one as its story — the request, each model call and output, each tool result, each
 * defense verdict with its layer, reason and the approver's answer, and the simulated model's decisions. The list
 * is in the page; the stories are in script files loaded on demand (a page opened from disk may load scripts, not
 * fetch files), a few hundred episodes each, with each text stored once per file.
 */
export const EXPLORER_FIELDS = ["defense", "model", "suite", "agent_system", "family", "surface", "split", "outcome"] as const;
const EPISODES_PER_FILE = 250;

/** One outcome per episode, the most telling first: the categories `anis show --outcome` filters by. */
const OUTCOME_CASE = `CASE WHEN ${OUTCOME_SQL.error} THEN 'error'
  WHEN ${OUTCOME_SQL["attack-succeeded"]} THEN 'attack-succeeded'
  WHEN ${OUTCOME_SQL["attack-stopped"]} THEN 'attack-stopped'
  WHEN ${OUTCOME_SQL["attack-failed"]} THEN 'attack-failed'
  WHEN ${OUTCOME_SQL.alarm} THEN 'alarm'
  WHEN ${OUTCOME_SQL["benign-done"]} THEN 'benign-done'
  ELSE 'benign-not-done' END`;

/** Writes `index.html` and `episodes/*.js` into `out` (a folder of its own); returns the files written, relative to it. */
export async function writeExplorer(db: ResultsDatabase, out: string): Promise<string[]> {
  makeOutputDir(out, "episodes");
  const c = db.connection;
  const episodes = await queryRows(
    c,
    `SELECT *, ${OUTCOME_CASE} AS outcome_kind FROM episodes ORDER BY defense = getvariable('baseline') DESC, defense, model, attack_id IS NULL, episode_id`,
  );
  const files: string[] = [];
  // Every outcome is offered, in the order of EPISODE_OUTCOMES, so a link may name one that no episode has.
  const dictionaries = Object.fromEntries(EXPLORER_FIELDS.map((f) => [f, f === "outcome" ? [...EPISODE_OUTCOMES] : ([] as string[])])) as Record<(typeof EXPLORER_FIELDS)[number], string[]>;
  const code = (field: (typeof EXPLORER_FIELDS)[number], value: unknown) => {
    const text = value === null || value === undefined ? "–" : String(value);
    const list = dictionaries[field];
    const at = list.indexOf(text);
    return at >= 0 ? at : list.push(text) - 1;
  };
  const rows = episodes.map((e, i) => [
    String(e.episode_id),
    ...EXPLORER_FIELDS.map((f) => code(f, f === "outcome" ? e.outcome_kind : e[f])),
    e.attack_id === null ? `benign ${e.user_task}` : String(e.attack_id),
    Math.floor(i / EPISODES_PER_FILE),
  ]);
  for (let start = 0, file = 0; start < episodes.length; start += EPISODES_PER_FILE, file++) {
    const part = episodes.slice(start, start + EPISODES_PER_FILE);
    const events = await queryRows(c, `SELECT * FROM events WHERE episode_id IN (${part.map((e) => sql(String(e.episode_id))).join(", ")}) ORDER BY episode_id, seq`);
    const byEpisode = new Map<string, Record<string, unknown>[]>();
    for (const v of events) {
      const id = String(v.episode_id);
      if (!byEpisode.has(id)) byEpisode.set(id, []);
      byEpisode.get(id)!.push(v);
    }
    const strings: string[] = [];
    const index = new Map<string, number>();
    const text = (s: string) => index.get(s) ?? (index.set(s, strings.length), strings.push(s) - 1);
    const stories = Object.fromEntries(
      part.map((e) => {
        const own = byEpisode.get(String(e.episode_id)) ?? [];
        const story = {
          head: text(headOf(e)),
          outcome: text(outcomeOf(e)),
          why: text(whyOf(e, own)),
          events: own.map((v) => {
            const { label, body, tone } = eventParts(v);
            return [Number(v.seq), text(String(v.agent)), text(label), tone === "defense" ? 1 : tone === "decision" ? 2 : 0, text(body)];
          }),
        };
        return [String(e.episode_id), story];
      }),
    );
    const name = `episodes/${file}.js`;
    writeFileSync(join(out, name), `anisEpisodes(${file}, ${scriptJson({ strings, stories })});\n`);
    files.push(name);
  }
  writeFileSync(join(out, "index.html"), page({ fields: EXPLORER_FIELDS, dictionaries, rows, runs: [...db.manifests.values()].map((m) => m.run_id) }));
  files.push("index.html");
  return files;
}

function headOf(e: Record<string, unknown>): string {
  const what =
    e.attack_id === null
      ? `benign task ${e.user_task}${e.hard_negative ? " (a hard negative: it looks like an attack and is not)" : ""}`
      : `attack ${e.attack_id} · family ${e.family} · surface ${e.surface} · goal ${e.goal} · split ${e.split}`;
  return `${e.defense} × ${e.model} · suite ${e.suite} · agent system ${e.agent_system} · task ${e.user_task} · seed ${e.seed} · run ${e.run_id}\n${what}`;
}

const sql = (s: string) => `'${s.replaceAll("'", "''")}'`;

/** JSON inside a script element: nothing in a text may close the element. */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");

const escape = (s: string) => s.replace(/[&<>"]/g, (ch) => `&#${ch.charCodeAt(0)};`);

function page(data: { fields: readonly string[]; dictionaries: Record<string, string[]>; rows: unknown[]; runs: string[] }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>ANIS Bench episodes: ${escape(data.runs.join(", "))}</title>
<link rel="icon" href="data:,">
<style>
body { font-family: "DejaVu Sans", Verdana, sans-serif; margin: 1rem 1.5rem; color: #222; }
#filters { display: flex; flex-wrap: wrap; gap: 0.6rem; align-items: end; margin-bottom: 0.6rem; }
#filters label { display: flex; flex-direction: column; font-size: 0.8rem; color: #555; }
#main { display: grid; grid-template-columns: minmax(30rem, 40%) 1fr; gap: 1rem; align-items: start; }
#list { max-height: 82vh; overflow: auto; border: 1px solid #ddd; }
#list table { border-collapse: collapse; width: 100%; font-size: 0.8rem; }
#list td, #list th { padding: 0.2rem 0.4rem; border-bottom: 1px solid #eee; text-align: left; white-space: nowrap; }
#list tbody tr { cursor: pointer; }
#list td:nth-child(3) { max-width: 15rem; overflow: hidden; text-overflow: ellipsis; }
details.offered summary { cursor: pointer; color: #555; padding: 0.2rem 0; border-bottom: 1px solid #f0f0f0; font-size: 0.8rem; }
#list tbody tr:hover, #list tr.open { background: #eef4ff; }
#story { font-size: 0.85rem; }
#story .head { white-space: pre-wrap; color: #444; }
#story .outcome { font-weight: bold; margin: 0.4rem 0 0.2rem; }
.event { display: grid; grid-template-columns: 3rem 7rem 7.5rem 1fr; gap: 0.4rem; padding: 0.2rem 0; border-bottom: 1px solid #f0f0f0; }
.event .body { white-space: pre-wrap; overflow-wrap: anywhere; font-family: "DejaVu Sans Mono", monospace; font-size: 0.8rem; }
.event.defense { background: #fff1e6; }
.event.defense .label { color: #b34700; font-weight: bold; }
.event.decision { background: #f2ecff; }
.event.decision .label { color: #5b2eb8; font-weight: bold; }
.outcome-attack-succeeded { color: #b00020; } .outcome-attack-stopped { color: #1a7f37; } .outcome-alarm { color: #b34700; } .outcome-error { color: #777; }
#count { font-size: 0.85rem; color: #555; margin: 0.3rem 0; }
</style>
</head>
<body>
<h1>Episodes of ${escape(data.runs.join(", "))}</h1>
<div id="filters"></div>
<div id="count"></div>
<div id="main"><div id="list"></div><div id="story"><p>Choose an episode to read its story: every model call, tool result and defense verdict, in order.</p></div></div>
<script id="data" type="application/json">${scriptJson(data)}</script>
<script>
const data = JSON.parse(document.getElementById("data").textContent);
const SHOWN = 300;
const fields = data.fields;
const loaded = new Map();
const waiting = new Map();
function anisEpisodes(file, chunk) { loaded.set(file, chunk); (waiting.get(file) || []).forEach((f) => f(chunk)); waiting.delete(file); }
function chunkOf(file) {
  if (loaded.has(file)) return Promise.resolve(loaded.get(file));
  return new Promise((resolve, reject) => {
    if (!waiting.has(file)) {
      waiting.set(file, []);
      const s = document.createElement("script");
      s.src = "episodes/" + file + ".js";
      s.onerror = () => reject(new Error("cannot load episodes/" + file + ".js"));
      document.head.appendChild(s);
    }
    waiting.get(file).push(resolve);
  });
}
const el = (tag, attrs, ...children) => { const e = document.createElement(tag); Object.assign(e, attrs || {}); e.append(...children); return e; };
const params = () => new URLSearchParams(location.hash.slice(1));
const filters = document.getElementById("filters");
const selects = {};
for (const [i, f] of fields.entries()) {
  const select = el("select", { id: "filter-" + f }, el("option", { value: "" }, "all"), ...data.dictionaries[f].map((v) => el("option", { value: v }, v)));
  select.addEventListener("change", () => update({ episode: null }));
  selects[f] = { select, column: i + 1 };
  filters.append(el("label", {}, f.replace("_", " "), select));
}
const search = el("input", { id: "filter-text", type: "search", placeholder: "attack, task or episode id" });
search.addEventListener("input", () => update({ episode: null }));
filters.append(el("label", {}, "contains", search));
function update(extra) {
  const p = new URLSearchParams();
  for (const f of fields) if (selects[f].select.value) p.set(f, selects[f].select.value);
  if (search.value) p.set("text", search.value);
  const episode = extra && "episode" in extra ? extra.episode : params().get("episode");
  if (episode) p.set("episode", episode);
  history.replaceState(null, "", "#" + p.toString());
  render();
}
function fromHash() {
  const p = params();
  for (const f of fields) selects[f].select.value = p.get(f) || "";
  search.value = p.get("text") || "";
  render();
}
function render() {
  const p = params();
  const text = search.value.toLowerCase();
  const codes = fields.map((f) => { const v = selects[f].select.value; return v ? data.dictionaries[f].indexOf(v) : -1; });
  const matched = data.rows.filter((r) => codes.every((c, i) => c < 0 || r[i + 1] === c) && (!text || r[0].toLowerCase().includes(text) || r[fields.length + 1].toLowerCase().includes(text)));
  document.getElementById("count").textContent = matched.length + " of " + data.rows.length + " episodes match" + (matched.length > SHOWN ? " (the first " + SHOWN + " listed)" : "");
  const name = (r, f) => data.dictionaries[f][r[fields.indexOf(f) + 1]];
  const body = el("tbody", {}, ...matched.slice(0, SHOWN).map((r) => {
    const tr = el("tr", { className: r[0] === p.get("episode") ? "open" : "" },
      el("td", {}, name(r, "defense")), el("td", {}, name(r, "model")), el("td", {}, r[fields.length + 1]),
      el("td", { className: "outcome-" + name(r, "outcome") }, name(r, "outcome")));
    tr.dataset.episode = r[0];
    tr.addEventListener("click", () => update({ episode: r[0] }));
    return tr;
  }));
  const list = document.getElementById("list");
  list.replaceChildren(el("table", {}, el("thead", {}, el("tr", {}, ...["configuration", "model", "attack or task", "outcome"].map((h) => el("th", {}, h)))), body));
  const open = p.get("episode");
  if (open) show(open); else document.getElementById("story").dataset.episode = "";
}
async function show(id) {
  const story = document.getElementById("story");
  if (story.dataset.episode === id) return;
  const row = data.rows.find((r) => r[0] === id);
  if (!row) { story.replaceChildren(el("p", {}, "no episode " + id + " in these runs")); return; }
  const chunk = await chunkOf(row[row.length - 1]);
  const e = chunk.stories[id];
  const s = (i) => chunk.strings[i];
  story.replaceChildren(
    el("h2", {}, id),
    el("div", { className: "head" }, s(e.head)),
    el("div", { className: "outcome outcome-" + data.dictionaries.outcome[row[fields.indexOf("outcome") + 1]] }, "outcome: " + s(e.outcome)),
    el("div", { className: "why" }, "why: " + s(e.why)),
    el("div", { className: "events" }, ...grouped(e.events, s)),
  );
  story.dataset.episode = id;
}
const eventRow = ([seq, agent, label, tone, body], s) =>
  el("div", { className: "event " + ["plain", "defense", "decision"][tone] }, el("span", {}, "#" + seq), el("span", {}, s(agent)), el("span", { className: "label" }, s(label)), el("span", { className: "body" }, s(body)));
/** The tools an agent is offered fold into one line (a description a layer rewrote stays out): they are the same in every episode. */
function grouped(events, s) {
  const out = [];
  for (let i = 0; i < events.length; ) {
    let j = i;
    while (j < events.length && s(events[j][2]) === "tool offered" && !s(events[j][4]).includes("\\n→ ") && s(events[j][1]) === s(events[i][1])) j++;
    if (j - i > 1) {
      out.push(el("details", { className: "offered" }, el("summary", {}, "#" + events[i][0] + "–" + events[j - 1][0] + "  " + s(events[i][1]) + ": " + (j - i) + " tools offered"), ...events.slice(i, j).map((v) => eventRow(v, s))));
      i = j;
    } else out.push(eventRow(events[i++], s));
  }
  return out;
}
window.addEventListener("hashchange", fromHash);
fromHash();
</script>
</body>
</html>
`;
}
