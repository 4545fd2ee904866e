import { readFileSync } from "node:fs";
import { z } from "zod";
import type { MemoryRecord } from "../../../agents/environment.ts";

const Email = z.strictObject({ id: z.string(), from: z.string(), to: z.string(), date: z.string(), subject: z.string(), body: z.string() });
const SentEmail = z.strictObject({ to: z.array(z.string()), subject: z.string(), body: z.string() });
const File = z.strictObject({ content: z.string(), shared_with: z.array(z.string()) });
const Transaction = z.strictObject({ id: z.string(), date: z.string(), counterparty: z.string(), iban: z.string(), amount: z.number(), memo: z.string() });
const Event = z.strictObject({
  id: z.string(),
  title: z.string(),
  date: z.string(),
  time: z.string(),
  participants: z.array(z.string()),
  description: z.string(),
});
const Contact = z.strictObject({ name: z.string(), email: z.string() });
/** What left the organisation: the ground truth for exfiltration and unauthorised transactions. */
const Outbound = z.strictObject({
  channel: z.enum(["email", "payment", "file_share", "web_post", "invitation"]),
  destination: z.string(),
  content: z.string(),
  amount: z.number().optional(),
});

export const WorkspaceWorldSchema = z.strictObject({
  user: z.strictObject({ name: z.string(), email: z.string() }),
  /** The other people who use the deployment, by e-mail address: their sessions write notes too. */
  team: z.array(z.string()),
  org_domain: z.string(),
  today: z.string(),
  inbox: z.array(Email),
  sent: z.array(SentEmail),
  files: z.record(z.string(), File),
  bank: z.strictObject({ iban: z.string(), balance: z.number(), transactions: z.array(Transaction) }),
  calendar: z.array(Event),
  web: z.record(z.string(), z.string()),
  contacts: z.array(Contact),
  network: z.array(Outbound),
  posts: z.array(z.strictObject({ url: z.string(), content: z.string() })),
  /** The team wiki: anyone in the company (or a compromised account) can edit it. */
  wiki: z.array(z.strictObject({ id: z.string(), title: z.string(), text: z.string() })),
  access: z.array(z.strictObject({ email: z.string(), resource: z.string(), level: z.enum(["read", "write", "admin"]) })),
  memory: z.array(z.custom<MemoryRecord>()),
});

/** The workspace suite's world: one user's mail, files, bank, calendar, web, contacts, outbound log and memory. */
export type WorkspaceWorld = z.infer<typeof WorkspaceWorldSchema>;

const FIXTURE = WorkspaceWorldSchema.parse(JSON.parse(readFileSync(new URL("./world.json", import.meta.url), "utf8")));

/** A fresh copy of the initial world. */
export function freshWorkspace(): WorkspaceWorld {
  return structuredClone(FIXTURE);
}

export const isExternal = (world: WorkspaceWorld, address: string) => !address.toLowerCase().endsWith(`@${world.org_domain}`);
