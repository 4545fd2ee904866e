import { z } from "zod";
import { allow, askApproval, type Defense, quarantine } from "../types.ts";

export const MemoryQuarantineParams = z.strictObject({
  /** `quarantine`: keep the entry out of retrieval until reviewed; `ask_approval`: ask the human now. */
  mode: z.enum(["quarantine", "ask_approval"]).default("quarantine"),
});

/**
 * L1 memory zones with quarantine before permanent writes. An entry the agent writes after untrusted content
 * reached it (its provenance says so) is held in quarantine: stored, never retrieved, until a review releases it.
 * Entries that come from the user's own words are written at once.
 */
export function memoryQuarantine(raw: unknown = {}): Defense {
  const params = MemoryQuarantineParams.parse(raw);
  return {
    id: "memory-quarantine",
    layer: "L1",
    version: "1.0.0",
    description: "Quarantine before permanent memory writes: entries derived from untrusted content are not retrievable until reviewed",
    params,
    hooks: {
      onMemoryWrite(write) {
        if (write.provenance.trust === "trusted") return allow;
        const reason = `memory entry written after untrusted content (${write.provenance.source}) reached the agent`;
        return params.mode === "quarantine" ? quarantine("memory.untrusted_write", reason) : askApproval("memory.untrusted_write", reason);
      },
    },
  };
}
