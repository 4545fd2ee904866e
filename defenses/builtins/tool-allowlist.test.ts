import { describe, expect, it } from "vitest";
import { SUITES } from "../../benchmarks/suites/registry.ts";
import type { HookScope, ToolDescriptor } from "../types.ts";
import { CAPABILITY_INTENTS, toolAllowlist } from "./tool-allowlist.ts";

/**
 * The shipped intent rules describe capabilities, not the task list: each scopes its tools for requests written
 * here, for no task of the suites, in words of their own.
 */
const REQUESTS: Readonly<Record<string, readonly { request: string; tool: string }[]>> = {
  "paying money": [
    { request: "Wire 300 euros to the plumber for the boiler repair.", tool: "send_payment" },
    { request: "Settle the open bill from the print shop.", tool: "transfer" },
    { request: "Refund the customer who returned the chair.", tool: "send_payment" },
    { request: "Move 50 dollars to my savings account.", tool: "transfer" },
  ],
  "sending a message": [
    { request: "Let Maria know the workshop moved to Thursday.", tool: "send_email" },
    { request: "Answer the landlord's question about the heating.", tool: "send_message" },
    { request: "Contact the insurer about the claim number.", tool: "send_email" },
    { request: "Reply to the school that Tom will be absent.", tool: "send_email" },
    { request: "Announce the new opening hours to the staff.", tool: "send_message" },
    { request: "Ask the architect when the drawings will be ready.", tool: "send_email" },
  ],
  "posting to a chat channel": [
    { request: "Drop a line in #general that lunch is ready.", tool: "send_chat" },
    { request: "Say in the design channel that the mockups are up.", tool: "send_chat" },
  ],
  scheduling: [
    { request: "Book the big room for the quarterly review on Monday.", tool: "create_event" },
    { request: "Set a reminder to renew my passport in March.", tool: "create_event" },
    { request: "Create an event for the team dinner on the 14th.", tool: "create_event" },
    { request: "Set up a meeting with the accountant next week.", tool: "create_event" },
    { request: "Invite the neighbours to the barbecue on Saturday.", tool: "create_event" },
  ],
  "writing a file or note": [
    { request: "Draft a welcome letter for the new intern.", tool: "write_file" },
    { request: "Copy the figures to sheets/budget.csv.", tool: "write_file" },
    { request: "Update the packing list with sunscreen.", tool: "write_file" },
  ],
  "working on tickets": [
    { request: "Resolve the duplicate bug report about the login page.", tool: "close_ticket" },
    { request: "Leave a comment on the printer issue saying it is fixed.", tool: "comment_ticket" },
    { request: "Close the request about the broken chair, it was replaced.", tool: "close_ticket" },
  ],
  deleting: [
    { request: "Get rid of the backup copies from last year.", tool: "delete_file" },
    { request: "Erase the test data files.", tool: "delete_file" },
  ],
  cancelling: [
    { request: "Stop the monthly gym membership debit.", tool: "cancel_scheduled" },
    { request: "We no longer need the magazine subscription.", tool: "cancel_scheduled" },
  ],
  "sharing a file": [{ request: "Share the holiday photos with my sister.", tool: "share_file" }],
  publishing: [
    { request: "Upload the press kit to our website.", tool: "post_to_web" },
    { request: "Publish the changelog on the community forum.", tool: "post_to_web" },
    { request: "Tell the monitoring webhook that the nightly backup finished.", tool: "post_webhook" },
  ],
  "adding a contact": [
    { request: "Save the electrician's number in my address book.", tool: "add_contact" },
    { request: "Add the new dentist to my contacts.", tool: "add_contact" },
  ],
  "adding a payee": [{ request: "Register the new cleaning supplier with their bank details.", tool: "add_payee" }],
  "granting access": [
    { request: "Make Jonas an admin of the marketing drive.", tool: "grant_access" },
    { request: "Give the auditor permissions on the ledger.", tool: "grant_access" },
  ],
  deploying: [{ request: "Ship the hotfix for the search service.", tool: "deploy" }],
  "rolling back": [{ request: "Revert the billing service to the version from Friday.", tool: "rollback" }],
  "rotating a credential": [{ request: "Regenerate the API key of the mobile app.", tool: "rotate_secret" }],
  "adding a user": [
    { request: "Onboard the two summer students.", tool: "add_user" },
    { request: "Create a new user for the bookkeeper.", tool: "add_user" },
    { request: "A new developer starts on Monday: set her up.", tool: "add_user" },
  ],
  "changing a limit": [
    { request: "Lower the card spending cap to 500.", tool: "set_approval_limit" },
    { request: "Raise the daily withdrawal limit to 1000.", tool: "set_approval_limit" },
  ],
  "sending a report": [{ request: "Mail the monthly sales report to the board.", tool: "export_report" }],
};

const descriptor = (name: string): ToolDescriptor => ({ name, description: name, sensitivity: "write", source: "trusted", destinationArgs: [] });

function scopeFor(userPrompt: string): HookScope {
  const state = new Map<string, unknown>();
  return {
    episodeId: "test",
    agent: "assistant",
    userPrompt,
    user: "user",
    system: { name: "single", agents: ["assistant"], protocol: "delegation" },
    tools: [],
    state: <T>(id: string, init: () => T) => (state.has(id) ? (state.get(id) as T) : (state.set(id, init()), state.get(id) as T)),
    alerts: () => [],
  };
}

const allows = async (request: string, tool: string) =>
  (await toolAllowlist().hooks.onToolCall!({ id: "c", tool: descriptor(tool), args: {} }, scopeFor(request))).kind === "allow";

describe("the shipped capability intents", () => {
  it("each scope their tools for requests written for no task of the suites", async () => {
    expect(Object.keys(REQUESTS).sort()).toEqual(CAPABILITY_INTENTS.map((r) => r.capability!).sort());
    const tasks = [...SUITES.values()].flatMap((s) => s.tasks.map((t) => t.prompt));
    for (const [capability, requests] of Object.entries(REQUESTS)) {
      for (const { request, tool } of requests) {
        expect(tasks, "a request of this test is no task's prompt").not.toContain(request);
        expect(await allows(request, tool), `${capability}: "${request}" scopes ${tool}`).toBe(true);
      }
    }
  });

  it("scope nothing for a request that asks for none of them", async () => {
    for (const tool of new Set(CAPABILITY_INTENTS.flatMap((r) => r.tools))) {
      expect(await allows("What is the capital of Portugal?", tool), tool).toBe(false);
    }
  });

  it("are built from general words: none is a word that occurs in exactly one task's prompt and nowhere else", () => {
    const prompts = [...SUITES.values()].flatMap((s) => s.tasks.map((t) => t.prompt.toLowerCase()));
    const oneTaskWords: string[] = [];
    for (const { capability, pattern } of CAPABILITY_INTENTS) {
      // The pattern's literal words: escapes, character classes and optional letters taken out ("invoices?" → invoice).
      const literal = pattern.replace(/\\[bwSsd]/g, " ").replace(/\[[^\]]*\]\??/g, "").replace(/.\?/g, "");
      for (const word of literal.split(/[^a-z ]+/i).map((w) => w.trim()).filter((w) => w.length >= 3)) {
        const inPrompts = prompts.filter((p) => new RegExp(`\\b${word}\\b`).test(p)).length;
        const inRequests = (REQUESTS[capability!] ?? []).some(({ request }) => new RegExp(`\\b${word}`, "i").test(request));
        if (inPrompts === 1 && !inRequests) oneTaskWords.push(`${capability}: ${word}`);
      }
    }
    expect(oneTaskWords).toEqual([]);
  });
});
