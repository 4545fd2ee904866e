import { z } from "zod";

export const SURFACES = ["tool_output", "tool_description", "memory", "rag_document", "peer_message", "user_channel"] as const;
export type Surface = (typeof SURFACES)[number];

/** What an attacker wants. `impersonation`: the agent deceives a third party in its user's name. */
export const GOALS = ["exfiltration", "unauthorized_transaction", "destruction", "persistence", "privilege_escalation", "replication", "impersonation"] as const;
export type GoalKind = (typeof GOALS)[number];

export const SPLITS = ["seen", "near", "far"] as const;
export type Split = (typeof SPLITS)[number];

/** Agent systems an attack case can target. */
export const AGENT_SYSTEMS = ["single", "supervisor", "team", "pipeline", "groupchat"] as const;
export type AgentSystemName = (typeof AGENT_SYSTEMS)[number];

/**
 * Size limits of attack files (they come from strangers): a planted text up to 1,000,000 characters — a long web
 * page, far more than a context window —, titles up to 2,000 and names and ids up to 200. Perception is linear in
 * a text's length.
 */
export const MAX_TEXT = 1_000_000;
export const MAX_TITLE = 2_000;
export const MAX_NAME = 200;
const text = z.string().min(1).max(MAX_TEXT);
const name = z.string().min(1).max(MAX_NAME);

const kebab = z.string().max(MAX_NAME).regex(/^[a-z0-9][a-z0-9-]*$/, "use lower-case kebab-case, e.g. email-exfil-api-keys");
/** Case ids: kebab-case parts, `--` between the parts of a generated id, `+` inside a mutation chain. */
const caseId = z.string().max(MAX_NAME).regex(/^[a-z0-9][a-z0-9+-]*$/, "use lower-case kebab-case, e.g. email-exfil-api-keys");

/**
 * A call the attacker wants, with literal arguments. The model must read every value it writes (the payload
 * carries the destination; data it moves must have been read first); `from` names arguments it writes in its own
 * words (a subject line) and the facts each is written from.
 */
export const PlannedCall = z.strictObject({
  tool: z.string().min(1),
  args: z.record(z.string(), z.unknown()),
  from: z.record(z.string(), z.array(z.string().min(1))).optional(),
});

/**
 * A text the attacker plants and the calls it asks for. `core` is the part a reader must see for it to work;
 * `trigger` makes it a delayed one: it acts only when the user's request mentions the trigger.
 */
const Payload = z.strictObject({
  text,
  core: z.union([text, z.array(text).min(2)]).optional(),
  trigger: name.optional(),
  calls: z.array(PlannedCall).min(1, "a payload must ask for at least one tool call"),
});

/**
 * An attack case (a virus): ANIS's V = (surface, target capability, payload, exploitation mechanism).
 * The injection adds text at a named point of the suite's world (or rides on a compromised agent's messages,
 * point `peer:AGENT`); it never removes what the user task needs. `goal.predicate` is in the suite's predicate
 * language, evaluated over the world after each episode of the campaign.
 */
export const AttackCaseSchema = z.strictObject({
  id: caseId,
  version: z.string().default("1"),
  title: z.string().min(1).max(MAX_TITLE),
  suite: name,
  agent: z.enum(AGENT_SYSTEMS).default("single"),
  surface: z.enum(SURFACES),
  family: kebab,
  goal: z.strictObject({ kind: z.enum(GOALS), predicate: z.unknown() }),
  /** User tasks run in order with one persistent memory store; the injection lands in the first. */
  campaign: z.array(name).min(1).max(100),
  injection: z
    .strictObject({
      point: z.string().min(1).max(2000),
      /** Further fragments of a split payload, each planted at its own point. */
      also: z.array(z.strictObject({ point: z.string().min(1).max(2000), text })).max(100).default([]),
    })
    .extend(Payload.shape),
  /** Payloads the attack plants for later (a memory entry, a relayed message), with the calls each asks for. */
  carried: z.array(Payload).max(100).default([]),
  /** For a `user:` injection (the attacker makes a request of its own): whose session it comes from, a team member's handle. */
  principal: name.optional(),
  mutation_chain: z.array(name).max(20).default([]),
  /** Which of the family's paraphrase templates produced the text (generated cases). */
  template: z.number().int().min(0).optional(),
  split: z.enum(SPLITS).default("seen"),
});
export type AttackCase = z.infer<typeof AttackCaseSchema>;

export const AttackFileSchema = z.array(AttackCaseSchema).min(1).max(100_000);
