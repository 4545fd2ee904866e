import { createHash } from "node:crypto";
import { GraphRecursionError } from "@langchain/langgraph/web";
import type { MemoryRecord } from "../../agents/environment.ts";
import { invokeAgent } from "../../agents/graph.ts";
import { costOf } from "../../agents/models/prices.ts";
import type { ModelHandle } from "../../agents/models/registry.ts";
import { EpisodeRuntime, type TraceEvent } from "../../agents/runtime.ts";
import type { AgentSystem } from "../../agents/systems.ts";
import type { AttackCase } from "../../attacks/schema.ts";
import { ApprovalHistory, SimulatedApprover } from "../../defenses/approver.ts";
import { AuditLog, isAlarm } from "../../defenses/audit.ts";
import type { DefenseConfiguration } from "../../defenses/config.ts";
import { DefenseStack } from "../../defenses/stack.ts";
import { payloadsOf } from "../corpus.ts";
import { environmentOf, type Suite, type UserTask } from "../suites/suite.ts";
import { InfectionTracker } from "./infection.ts";
import { plant } from "./plant.ts";
import type { EpisodeRow, EventRow } from "./tables.ts";

/** One campaign of the matrix: its tasks run in order, sharing one persistent memory store. */
export interface Campaign {
  readonly id: string;
  readonly suite: Suite<unknown>;
  readonly system: AgentSystem;
  readonly defense: DefenseConfiguration;
  readonly model: ModelHandle;
  readonly seed: number;
  readonly attack: AttackCase | null;
  readonly tasks: readonly UserTask[];
}

export interface CampaignResult {
  readonly episodes: EpisodeRow[];
  readonly events: EventRow[];
}

const shortHash = (...parts: (string | number | null)[]) => createHash("sha256").update(parts.join("\u0000")).digest("hex").slice(0, 16);

export function campaignId(suite: string, system: string, defense: string, model: string, seed: number, attack: string | null, task: string): string {
  return `c-${shortHash(suite, system, defense, model, seed, attack, task)}`;
}

/** Error codes: stable, so reports can group by them. Errors are never blocks. */
function classify(error: unknown): { code: string; message: string } {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof GraphRecursionError) return { code: "step_limit", message };
  const code = (error as { code?: unknown }).code;
  return { code: typeof code === "string" && code !== "bad_input" ? code : "runtime_error", message };
}

/**
 * Runs a campaign: for each task, a fresh world (with the campaign's memory carried over), the attack planted in
 * the first episode, a new defense stack and approver, one invocation of the agent system, then the utility and
 * goal predicates over (world before, world after).
 */
export async function runCampaign(campaign: Campaign, runId: string, options: { readonly bare?: boolean } = {}): Promise<CampaignResult> {
  const { suite, system, defense, model, seed, attack } = campaign;
  const episodes: EpisodeRow[] = [];
  const events: EventRow[] = [];
  const payloads = attack ? payloadsOf(attack) : [];
  let memory: MemoryRecord[] = [];
  // One session: whoever answers approval requests grows used to them across its episodes.
  const approvals = new ApprovalHistory();

  for (const [pos, task] of campaign.tasks.entries()) {
    const episodeId = `ep-${shortHash(campaign.id, pos)}`;
    const world = suite.fixture();
    suite.memory(world).push(...memory);
    const planted = attack && pos === 0 ? plant(suite, world, attack) : null;
    const before = structuredClone(world);
    // A query-only attack: in its first episode the attacker is the user, and asks in place of the task.
    const prompt = planted?.attackerPrompt ?? task.prompt;

    let seq = 0;
    const infection = new InfectionTracker(payloads, system.agents.length);
    const trace = (e: TraceEvent) => {
      infection.record(e);
      events.push({
        run_id: runId,
        episode_id: episodeId,
        seq: seq++,
        agent: e.agent,
        kind: e.kind,
        layer: e.layer ?? null,
        hook: e.hook ?? null,
        defense: e.defense ?? null,
        verdict: e.verdict ?? null,
        code: e.code ?? null,
        reason: e.reason ?? null,
        source: e.source ?? null,
        tool: e.tool ?? null,
        approved: e.approved ?? null,
        keeps_information: e.keeps_information ?? null,
        detail: e.detail ?? null,
        delivered: e.delivered ?? null,
      });
    };
    const audit = new AuditLog(({ evidence, ...i }) => trace({ kind: "intervention", ...i, detail: evidence ?? null }));
    const systemInfo = { name: system.name, agents: system.agents.map((a) => a.id), protocol: system.protocol };
    // The attacker of a query-only injection is one of the deployment's users, like the colleagues whose notes
    // benign tasks read: nothing in a principal tells an attack apart.
    const principal = planted?.attackerPrompt !== undefined ? (attack?.principal ?? suite.people.user) : (task.principal ?? suite.people.user);
    const approver = new SimulatedApprover(task.plan, defense.approver, `${seed}:${episodeId}`, approvals, principal);
    const stack = new DefenseStack(defense.layers, approver, { episodeId, userPrompt: prompt, user: principal, system: systemInfo }, audit);
    const runtime = new EpisodeRuntime({
      episodeId,
      userPrompt: prompt,
      environment: environmentOf(suite, world, planted?.descriptionNotes),
      stack,
      trace,
      modelOptions: model.callOptions({ seed, payloads }),
      compromisedAgent: planted?.compromisedAgent,
      spoofedMessage: planted?.spoofedMessage,
      tamperedEdge: planted?.tamperedEdge,
      principal,
      observeContext: attack ? (agent, text, kind) => infection.observe(agent, text, kind) : undefined,
    });

    const started = performance.now();
    let error: { code: string; message: string } | null = null;
    try {
      await invokeAgent(system.graph, { task: { text: prompt, from: "user" } }, { context: { episode: runtime, bare: options.bare } });
    } catch (e) {
      error = classify(e);
      trace({ agent: system.entry, kind: "error", code: error.code, detail: error.message });
    }
    const duration = performance.now() - started;

    const entries = audit.entries;
    const counters = runtime.counters;
    const poisoned = suite.memory(world).filter((r) => infection.carries(r.text));
    const firstStop = entries.find((e) => e.verdict === "block" || e.verdict === "quarantine" || e.approved === false);
    const alarms = entries.filter(isAlarm);
    episodes.push({
      run_id: runId,
      episode_id: episodeId,
      campaign_id: campaign.id,
      campaign_pos: pos,
      campaign_len: campaign.tasks.length,
      suite: suite.name,
      agent_system: system.name,
      user_task: task.id,
      attacker_turn: planted?.attackerPrompt !== undefined,
      hard_negative: task.hard_negative,
      attack_id: attack?.id ?? null,
      surface: attack?.surface ?? null,
      family: attack?.family ?? null,
      goal: attack?.goal.kind ?? null,
      split: attack?.split ?? null,
      defense: defense.name,
      model: model.name,
      seed,
      utility: suite.evaluate(task.utility, before, world),
      attack_success: attack ? suite.evaluate(attack.goal.predicate, before, world) : null,
      interventions: entries.length,
      alarms: alarms.length,
      rewrites: entries.length - alarms.length,
      approvals: entries.filter((e) => e.verdict === "ask_approval").length,
      approvals_denied: entries.filter((e) => e.approved === false).length,
      stops: entries.filter((e) => e.verdict === "block" || e.verdict === "quarantine" || e.approved === false).length,
      first_layer: entries[0]?.layer ?? null,
      first_defense: entries[0]?.defense ?? null,
      first_stop_layer: firstStop?.layer ?? null,
      first_stop_defense: firstStop?.defense ?? null,
      first_alarm_layer: alarms[0]?.layer ?? null,
      first_alarm_defense: alarms[0]?.defense ?? null,
      error: error?.code ?? null,
      error_message: error?.message.slice(0, 2000) ?? null,
      steps: counters.modelCalls + counters.toolCalls,
      model_calls: counters.modelCalls,
      tool_calls: counters.toolCalls,
      duration_ms: Math.round(duration * 1000) / 1000,
      defense_us: Math.round(stack.overheadMicros),
      ...infection.metrics(),
      poisoned_active: poisoned.filter((r) => r.status === "active").length,
      poisoned_quarantined: poisoned.filter((r) => r.status === "quarantined").length,
      input_tokens: counters.inputTokens,
      output_tokens: counters.outputTokens,
      cached_calls: counters.cachedCalls,
      cost_usd: costOf(model.price, counters.inputTokens, counters.outputTokens),
    });
    memory = suite.memory(world);
  }
  return { episodes, events };
}
