import { readFileSync } from "node:fs";
import { z } from "zod";
import type { MemoryRecord } from "../../../agents/environment.ts";

const Outbound = z.strictObject({ channel: z.enum(["email", "webhook"]), destination: z.string(), content: z.string() });

export const DevopsWorldSchema = z.strictObject({
  org_domain: z.string(),
  user: z.strictObject({ name: z.string(), email: z.string() }),
  /** The other people who use the deployment, by e-mail address: their sessions write notes too. */
  team: z.array(z.string()),
  today: z.string(),
  files: z.record(z.string(), z.string()),
  ci_logs: z.array(z.strictObject({ job: z.string(), status: z.string(), log: z.string() })),
  tickets: z.array(
    z.strictObject({ id: z.string(), title: z.string(), body: z.string(), reporter: z.string(), status: z.enum(["open", "closed"]), comments: z.array(z.string()) }),
  ),
  services: z.record(z.string(), z.record(z.string(), z.string())),
  previous_versions: z.record(z.string(), z.string()),
  secrets: z.record(z.string(), z.string()),
  secret_versions: z.record(z.string(), z.number()),
  secret_access: z.array(z.strictObject({ secret: z.string(), user: z.string() })),
  users: z.array(z.strictObject({ user: z.string(), role: z.enum(["viewer", "developer", "admin"]) })),
  /** Team runbooks: editable by the whole team, so retrieval can be poisoned. */
  runbooks: z.array(z.strictObject({ id: z.string(), title: z.string(), text: z.string() })),
  advisories: z.record(z.string(), z.string()),
  chat: z.array(z.strictObject({ channel: z.string(), text: z.string() })),
  emails: z.array(z.strictObject({ to: z.string(), subject: z.string(), body: z.string() })),
  webhooks: z.array(z.strictObject({ url: z.string(), payload: z.string() })),
  deployments: z.array(z.strictObject({ service: z.string(), version: z.string(), environment: z.string(), kind: z.enum(["deploy", "rollback"]) })),
  network: z.array(Outbound),
  memory: z.array(z.custom<MemoryRecord>()),
});

/** The devops suite's world: a repository, CI, tickets, deployments, secrets, users, runbooks and chat. */
export type DevopsWorld = z.infer<typeof DevopsWorldSchema>;

const FIXTURE = DevopsWorldSchema.parse(JSON.parse(readFileSync(new URL("./world.json", import.meta.url), "utf8")));

export const freshDevops = (): DevopsWorld => structuredClone(FIXTURE);
