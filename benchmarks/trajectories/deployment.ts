import { readFileSync } from "node:fs";
import { z } from "zod";
import { createDefense } from "../../defenses/builtins/index.ts";
import { CAPABILITY_INTENTS } from "../../defenses/builtins/tool-allowlist.ts";
import type { DefenseConfiguration } from "../../defenses/config.ts";
import { SENSITIVITIES, type ToolDescriptor } from "../../defenses/types.ts";
import { TrajectorySourceError } from "./source.ts";

const CAPABILITIES = CAPABILITY_INTENTS.map((i) => i.capability).filter((c): c is string => c !== undefined);

const Tool = z.strictObject({
  sensitivity: z.enum(SENSITIVITIES),
  results: z.enum(["trusted", "untrusted"]),
  destinations: z.array(z.string().min(1)).default([]),
  /** What the tool lets an agent do, by the capability names of defenses/builtins/capability-intents.json. */
  capabilities: z
    .array(z.string().refine((c) => CAPABILITIES.includes(c), { message: `not a capability of defenses/builtins/capability-intents.json (${CAPABILITIES.join(", ")})` }))
    .default([]),
  description: z.string().min(1),
});

export const DeploymentSchema = z.strictObject({
  source: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "lower-case kebab-case"),
  description: z.string().min(1),
  /** The source's own pipeline defenses, by the suffix they add to a pipeline's name. */
  defenses: z.record(
    z.string().min(1),
    z.strictObject({
      description: z.string().min(1),
      /** Text the defense puts around every tool output it logs (spotlighting's delimiters). */
      wrapper: z.tuple([z.string(), z.string()]).optional(),
      /** The notice a detector logs in place of an output it withheld. */
      notice: z.string().min(1).optional(),
    }),
  ),
  organisation: z.strictObject({ description: z.string().min(1), domains: z.array(z.string().min(1)), payee_ibans: z.array(z.string().min(8)) }),
  suites: z.record(z.string().min(1), z.record(z.string().min(1), Tool)),
});
export type DeploymentFile = z.infer<typeof DeploymentSchema>;

/**
 * A source of real trajectories as a deployment knows it: the tools of each suite with what defenses read of them
 * (risk class, trust of results, destination arguments, capability), the organisation's domains and payees, and
 * what the source's own pipeline defenses did to the outputs they logged.
 */
export interface Deployment {
  readonly file: DeploymentFile;
  /** The tools of a suite as defense hooks see them; empty for a suite the deployment does not describe. */
  tools(suite: string): readonly ToolDescriptor[];
  tool(suite: string, name: string): ToolDescriptor | undefined;
  /** A pipeline's model and defense: the defense is a known suffix of its name (`gpt-4o-2024-05-13-tool_filter`). */
  pipeline(name: string): { readonly model: string; readonly defense: string };
}

export const AGENTDOJO_DEPLOYMENT = new URL("./agentdojo/deployment.json", import.meta.url);

export function loadDeployment(file: string | URL = AGENTDOJO_DEPLOYMENT): Deployment {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new TrajectorySourceError(`${String(file)}: cannot read the deployment file (${(error as Error).message})`);
  }
  const parsed = DeploymentSchema.safeParse(json);
  if (!parsed.success) {
    throw new TrajectorySourceError(`${String(file)}: ${parsed.error.issues.map((i) => `at ${i.path.map(String).join(".")}: ${i.message}`).join("; ")}`);
  }
  return deploymentOf(parsed.data);
}

/** A checked deployment file, ready for the importer and the replay. */
export function deploymentOf(data: DeploymentFile): Deployment {
  const bySuite = new Map(
    Object.entries(data.suites).map(([suite, tools]) => [
      suite,
      new Map(
        Object.entries(tools).map(([name, t]): [string, ToolDescriptor] => [
          name,
          { name, description: t.description, sensitivity: t.sensitivity, source: t.results, destinationArgs: t.destinations },
        ]),
      ),
    ]),
  );
  const suffixes = Object.keys(data.defenses).sort((a, b) => b.length - a.length);
  return {
    file: data,
    tools: (suite) => [...(bySuite.get(suite)?.values() ?? [])],
    tool: (suite, name) => bySuite.get(suite)?.get(name),
    pipeline(name) {
      const defense = suffixes.find((s) => name.endsWith(`-${s}`));
      return defense ? { model: name.slice(0, -(defense.length + 1)), defense } : { model: name, defense: "none" };
    },
  };
}

/** Layers whose parameters name a deployment's tools or organisation: replay gives them the deployment's own. */
const DEPLOYMENT_BOUND = new Set(["tool-allowlist", "argument-constraints", "information-flow"]);

/**
 * A configuration's layers as they would be configured for this deployment. The rules stay; what they name
 * changes: the tool allowlist's capability rules scope the deployment's tools of that capability (a rule list
 * other than the shipped one is the user's own and kept), argument constraints and information-flow control take
 * the organisation's domains and payees (the amount limit stays). Every other layer is the configuration's, as is.
 */
export function forDeployment(configuration: DefenseConfiguration, deployment: Deployment, suite: string): DefenseConfiguration["layers"] {
  const tools = deployment.file.suites[suite] ?? {};
  const { domains, payee_ibans } = deployment.file.organisation;
  return configuration.layers.map((layer, i) => {
    const spec = configuration.spec[i]!;
    if (!DEPLOYMENT_BOUND.has(spec.use)) return layer;
    const params = { ...(spec.params as Record<string, unknown>) };
    if (spec.use === "tool-allowlist") {
      if (JSON.stringify(params.intents) !== JSON.stringify(CAPABILITY_INTENTS)) return layer;
      params.intents = CAPABILITY_INTENTS.map((intent) => ({
        ...intent,
        tools: Object.entries(tools)
          .filter(([, t]) => intent.capability !== undefined && t.capabilities.includes(intent.capability))
          .map(([name]) => name),
      })).filter((intent) => intent.tools.length > 0);
    } else if (spec.use === "argument-constraints") {
      Object.assign(params, { recipient_domains: domains, url_domains: domains, payee_ibans });
    } else {
      params.internal_domains = domains;
    }
    return createDefense(spec.use, params, `${configuration.name} for ${deployment.file.source}/${suite}`);
  });
}
