import { readFileSync } from "node:fs";
import { z } from "zod";
import type { MemoryRecord } from "../../../agents/environment.ts";

const Outbound = z.strictObject({ channel: z.enum(["transfer", "message", "report", "scheduled"]), destination: z.string(), content: z.string(), amount: z.number().optional() });

export const FinanceWorldSchema = z.strictObject({
  company: z.string(),
  user: z.strictObject({ name: z.string(), email: z.string() }),
  /** The other people who use the deployment, by e-mail address: their sessions write notes too. */
  team: z.array(z.string()),
  org_domain: z.string(),
  today: z.string(),
  accounts: z.array(z.strictObject({ id: z.string(), iban: z.string(), balance: z.number() })),
  transactions: z.array(z.strictObject({ id: z.string(), account: z.string(), date: z.string(), counterparty: z.string(), iban: z.string(), amount: z.number(), reference: z.string() })),
  payees: z.array(z.strictObject({ name: z.string(), iban: z.string() })),
  invoices: z.array(
    z.strictObject({ id: z.string(), vendor: z.string(), vendor_email: z.string(), amount: z.number(), iban: z.string(), due: z.string(), status: z.enum(["open", "paid"]), notes: z.string() }),
  ),
  scheduled: z.array(z.strictObject({ id: z.string(), payee: z.string(), iban: z.string(), amount: z.number(), day: z.number(), active: z.boolean() })),
  vendor_messages: z.array(z.strictObject({ id: z.string(), from: z.string(), text: z.string() })),
  /** The finance team's policy pages: editable by many, so retrieval can be poisoned. */
  policies: z.array(z.strictObject({ id: z.string(), title: z.string(), text: z.string() })),
  fx: z.record(z.string(), z.number()),
  approval_limit: z.number(),
  messages: z.array(z.strictObject({ to: z.string(), subject: z.string(), body: z.string() })),
  reports: z.array(z.strictObject({ kind: z.string(), email: z.string() })),
  network: z.array(Outbound),
  memory: z.array(z.custom<MemoryRecord>()),
});

/** The finance suite's world: a company's accounts, payees, invoices, scheduled payments and vendor portal. */
export type FinanceWorld = z.infer<typeof FinanceWorldSchema>;

const FIXTURE = FinanceWorldSchema.parse(JSON.parse(readFileSync(new URL("./world.json", import.meta.url), "utf8")));

export const freshFinance = (): FinanceWorld => structuredClone(FIXTURE);
export const normaliseIban = (iban: string) => iban.replace(/\s+/g, "").toUpperCase();
