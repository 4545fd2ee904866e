/**
 * A simulated model's profile: how it reacts to an injection it has read, as data. A profile file says which
 * features of what the model perceives raise or lower its compliance, each effect with its estimate, its interval
 * and where it came from — fitted to real runs by `anis calibrate`, or argued from a paper where no data speaks.
 * Compliance is logistic: logit p = intercept + Σ effect × feature, for the features present.
 */
import { readdirSync, readFileSync } from "node:fs";
import { z } from "zod";
import { FRAMING_FEATURES } from "./framing.ts";
import { ENCODINGS } from "./perception.ts";

/**
 * What the model perceives about an injection, besides its framing: how it reached the model and what the rest of
 * the context says. Each is read from the context after the defenses acted.
 */
export const CONTEXT_FEATURES = [
  /** The system prompt says outside content is data, and the text carrying the injection is visibly marked or delimited. */
  "explained_marking",
  /** The system prompt says outside content is data; nothing visibly marks the text. */
  "content_is_data_prompt",
  /** The user's request stands again after the injection (the sandwich defense). */
  "request_repeated",
  /** Other content came after the text carrying the injection. */
  "not_latest",
  /** The injection was read only once decoded (base64, hex, leetspeak, hidden tag characters). */
  "decoded",
  "from_memory",
  "from_peer",
  "from_tool_description",
  /**
   * The tool list was narrowed to the request before the task (AgentDojo's `tool_filter`). The simulator never sets
   * it: its tool filter acts by unbinding tools, and a model cannot call what it was not given. Fitted so the other
   * effects are not biased by those runs, and reported as the filter's measured effect.
   */
  "filtered_tools",
] as const;

export const COMPLIANCE_FEATURES = [...FRAMING_FEATURES, ...CONTEXT_FEATURES] as const;
export type ComplianceFeature = (typeof COMPLIANCE_FEATURES)[number];
export type Perceived = Readonly<Record<ComplianceFeature, boolean>>;

export const NO_FEATURES: Perceived = Object.fromEntries(COMPLIANCE_FEATURES.map((f) => [f, false])) as Perceived;

const Parameter = z.strictObject({
  /** Log-odds, for an effect and the intercept; a probability for the others. */
  estimate: z.number().finite(),
  /** 95% interval, or null where none can be given. */
  interval: z.tuple([z.number().finite(), z.number().finite()]).nullable(),
  /** Where the estimate comes from: the fit (data, runs), or the paper it is argued from. */
  source: z.string().min(1),
  /** Whether the data varied this feature: when not, the estimate is its prior. */
  fitted: z.boolean(),
});
export type Parameter = z.infer<typeof Parameter>;

const Compliance = z.discriminatedUnion("kind", [
  /** Follows every injection it can read: the worst case. */
  z.strictObject({ kind: z.literal("always"), source: z.string().min(1) }),
  z.strictObject({
    kind: z.literal("logistic"),
    intercept: Parameter,
    effects: z.strictObject(Object.fromEntries(COMPLIANCE_FEATURES.map((f) => [f, Parameter])) as Record<ComplianceFeature, typeof Parameter>),
  }),
]);

export const ProfileFile = z.strictObject({
  schema_version: z.literal(1),
  name: z.string().regex(/^[\w.-]+$/, "letters, digits, dots, dashes and underscores"),
  description: z.string().min(1),
  /** How the profile was made: fitted by `anis calibrate`, argued from papers, or derived from fitted ones. */
  provenance: z.strictObject({
    kind: z.enum(["fitted", "argued", "derived"]),
    summary: z.string().min(1),
    /** The trajectory tables' digest and the runs the fit used. */
    data: z.strictObject({ source: z.string(), digest: z.string(), runs: z.number().int().nonnegative(), pipelines: z.array(z.string()) }).optional(),
  }),
  /** What the model can read besides plain text, and why we believe so. */
  reads: z.strictObject({ decodes: z.array(z.enum(ENCODINGS)), source: z.string().min(1) }),
  /** Names the model answers to: a text addressed to another model by name is not addressed to it. */
  answers_to: z.array(z.string().min(1)),
  /** What it does with a step it cannot write from what it read: never the plan's value. */
  when_ungrounded: z.enum(["report", "ask", "guess"]),
  /**
   * With no task in view (MELON's masked re-run), the share of the injections it followed under the user's task
   * that it follows again.
   */
  masked_agreement: z.strictObject({ estimate: z.number().min(0).max(1), source: z.string().min(1) }),
  /** Probability of doing what the user's own request asks (a query-only memory injection). */
  user_request_compliance: z.strictObject({ estimate: z.number().min(0).max(1), source: z.string().min(1) }),
  compliance: Compliance,
  /** Fidelity on runs the fit did not use, as `anis calibrate` printed it. */
  fidelity: z.record(z.string(), z.unknown()).optional(),
});
export type ProfileFile = z.infer<typeof ProfileFile>;

/** What a model does with a step it cannot write from what it has read: never the plan's value. */
export type WhenUngrounded = ProfileFile["when_ungrounded"];

/** How a simulated model reacts to an injection it has read. */
export interface SimProfile {
  readonly name: string;
  readonly description: string;
  readonly decodes: readonly (typeof ENCODINGS)[number][];
  readonly answersTo: readonly string[];
  readonly ungrounded: WhenUngrounded;
  readonly maskedAgreement: number;
  /** The file it was read from, for a run's manifest. */
  readonly file: ProfileFile;
  /** Probability of following an injected instruction it read, given what it perceives. */
  compliance(perceived: Perceived, channel: "user" | "other"): number;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Log-odds of compliance under a logistic profile. */
export function logitOf(compliance: Extract<ProfileFile["compliance"], { kind: "logistic" }>, perceived: Perceived): number {
  let x = compliance.intercept.estimate;
  for (const f of COMPLIANCE_FEATURES) if (perceived[f]) x += compliance.effects[f].estimate;
  return x;
}

/** A profile file that cannot be used. `code = "bad_input"` is the contract the CLI reads to exit with 2. */
export class ProfileError extends Error {
  readonly code = "bad_input";
}

/** A profile from its file's parsed content; `where` names the file in an error. */
export function profileFrom(raw: unknown, where: string): SimProfile {
  const parsed = ProfileFile.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ProfileError(`${where}: ${issue.path.join(".") || "(top)"}: ${issue.message}`);
  }
  const file = parsed.data;
  const { compliance } = file;
  const userCompliance = file.user_request_compliance.estimate;
  return {
    name: file.name,
    description: file.description,
    decodes: file.reads.decodes,
    answersTo: file.answers_to,
    ungrounded: file.when_ungrounded,
    maskedAgreement: file.masked_agreement.estimate,
    file,
    compliance(perceived, channel) {
      if (compliance.kind === "always") return 1;
      if (channel === "user") return userCompliance;
      return sigmoid(logitOf(compliance, perceived));
    },
  };
}

/** A profile file on disk (`sim:profile=FILE`). */
export function loadProfile(path: string): SimProfile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ProfileError(`${path}: cannot read the profile file (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ProfileError(`${path}: not JSON (${(error as Error).message})`);
  }
  return profileFrom(raw, path);
}

/** Where the shipped profiles are: the worst case, the derived ones, and one per model fitted to AgentDojo's logs. */
export const PROFILES_DIR = new URL("./profiles/", import.meta.url);

/** The shipped profiles by name (`sim:NAME`); a file's name is its profile's. */
export const SIM_PROFILES: ReadonlyMap<string, SimProfile> = new Map(
  readdirSync(PROFILES_DIR)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => {
      const profile = loadProfile(new URL(f, PROFILES_DIR).pathname);
      if (`${profile.name}.json` !== f) throw new ProfileError(`agents/models/sim/profiles/${f}: names profile ${profile.name}; the file must be ${profile.name}.json`);
      return [profile.name, profile] as const;
    }),
);
