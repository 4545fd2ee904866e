import type { HookName, Layer, VerdictKind } from "./types.ts";

/** One intervention: any verdict other than `allow`, with who acted, on what, and why. */
export interface Intervention {
  readonly agent: string;
  readonly layer: Layer;
  readonly defense: string;
  readonly hook: HookName;
  readonly verdict: Exclude<VerdictKind, "allow">;
  readonly code: string;
  readonly reason: string;
  /** Provenance source of the content acted on, or the tool name for actions. */
  readonly source: string;
  readonly tool: string | null;
  /** For `ask_approval`: what the approver decided. */
  readonly approved: boolean | null;
  /**
   * For `transform`: whether the rewrite kept everything the text said (marking, delimiting, decoding) or removed
   * some of it (redacting, truncating). Only the first kind costs nothing: it is a rewrite, not an alarm.
   */
  readonly keeps_information: boolean | null;
  /** The offending text, when the layer named it. */
  readonly evidence: string | null;
}

/** The episode's audit log. A listener sees each entry as it is recorded, so traces keep their order. */
export class AuditLog {
  readonly entries: Intervention[] = [];
  constructor(private readonly listener?: (entry: Intervention) => void) {}

  record(entry: Intervention): void {
    this.entries.push(entry);
    this.listener?.(entry);
  }

  get approvalsAsked(): number {
    return this.entries.filter((e) => e.verdict === "ask_approval").length;
  }
}

/**
 * Whether an intervention costs the user something: a stop, a quarantine, an approval request, or a rewrite that
 * removed information. A rewrite that kept it all (marking, delimiting, normalising) costs nothing.
 */
export const isAlarm = (entry: Pick<Intervention, "verdict" | "keeps_information">): boolean => entry.verdict !== "transform" || entry.keeps_information !== true;
