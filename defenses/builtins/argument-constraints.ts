import { z } from "zod";
import { argumentValues, squash } from "../util/args.ts";
import { allow, askApproval, block, type Defense, type Verdict } from "../types.ts";

export const ArgumentConstraintsParams = z.strictObject({
  /** E-mail domains that may receive data (the organisation and its partners). */
  recipient_domains: z.array(z.string().min(1)).default([]),
  /** URL hosts (and their subdomains) that may receive posts and webhooks. */
  url_domains: z.array(z.string().min(1)).default([]),
  /** IBANs of approved payees; a payment elsewhere needs approval. */
  payee_ibans: z.array(z.string().min(8)).default([]),
  /** Amounts above this need approval. */
  max_amount: z.number().positive().optional(),
  /** What a disallowed recipient or host gets; unknown IBANs and large amounts always go to the human. */
  on_violation: z.enum(["ask_approval", "block"]).default("block"),
});

const iban = (s: string) => squash(s).toUpperCase();

/**
 * L1 argument constraints: the deployment's static policy on where data and money may go — allowed recipient
 * domains, allowed URL hosts, approved payee IBANs, an amount limit — checked on every destination argument of
 * every call, whatever the context said.
 */
export function argumentConstraints(raw: unknown = {}): Defense {
  const params = ArgumentConstraintsParams.parse(raw);
  const payees = new Set(params.payee_ibans.map(iban));
  const inDomain = (host: string, domains: readonly string[]) => domains.some((d) => host === d || host.endsWith(`.${d}`));
  const violation = (code: string, reason: string): Verdict => (params.on_violation === "block" ? block(code, reason) : askApproval(code, reason));
  return {
    id: "argument-constraints",
    layer: "L1",
    version: "1.0.0",
    description: "Argument constraints: allowed recipient domains, URL hosts, payee IBANs and an amount limit",
    params,
    hooks: {
      onToolCall(call) {
        for (const arg of call.tool.destinationArgs) {
          for (const value of argumentValues(call.args[arg])) {
            const v = value.trim().toLowerCase();
            const url = /^[a-z][a-z0-9+.-]*:\/\/([^/:?#]+)/.exec(v);
            if (url) {
              if (!inDomain(url[1]!, params.url_domains)) return violation("constraints.url_host", `${call.tool.name}.${arg}: host ${url[1]} is not allowed`);
            } else if (v.includes("@")) {
              const domain = v.slice(v.lastIndexOf("@") + 1);
              if (!inDomain(domain, params.recipient_domains)) return violation("constraints.recipient", `${call.tool.name}.${arg}: ${value} is outside the allowed domains`);
            } else if (/^[a-z]{2}\d{2}[a-z0-9]{8,}$/i.test(iban(value)) && !payees.has(iban(value))) {
              return askApproval("constraints.unknown_payee", `${call.tool.name}.${arg}: ${value} is not an approved payee`);
            }
          }
        }
        const amount = call.args.amount;
        if (params.max_amount !== undefined && typeof amount === "number" && amount > params.max_amount) {
          return askApproval("constraints.amount", `${call.tool.name}: amount ${amount} exceeds the limit ${params.max_amount}`);
        }
        return allow;
      },
    },
  };
}
