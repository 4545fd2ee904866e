/**
 * What the simulated model can read in a text. Seeing is about information, not bytes: a payload is seen when
 * its core survives in the text after every information-preserving change a defense might make — delimiters,
 * data-marking, whitespace and case, zero-width characters, compatibility forms, or re-encoding as base64/hex.
 * Only removal (redaction, withholding, quarantine) makes it unseen.
 */

const ZERO_WIDTH = /[\u200B-\u200F\u2060-\u2064\uFEFF\u00AD]/g;

/** Letters and digits only, lower case, compatibility-normalised. */
export function normalise(text: string): string {
  return text.normalize("NFKC").replace(ZERO_WIDTH, "").toLowerCase().replace(/[^\p{L}\p{N}]+/gu, "");
}

/** Whitespace-collapsed lower case: what survives when the text is left as written. */
export function plain(text: string): string {
  return text.toLowerCase().replace(/\s+/g, " ").trim();
}

const BASE64_RUN = /[A-Za-z0-9+/]{16,}={0,2}/g;
const HEX_RUN = /\b(?:[0-9a-fA-F]{2}){8,}\b/g;

function printableShare(text: string): number {
  if (text.length === 0) return 0;
  let printable = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c >= 32 && c < 127) || c === 10 || c === 13 || c === 9 || c >= 160) printable++;
  }
  return printable / text.length;
}

export type Encoding = "base64" | "hex";

/** Texts hidden in base64 or hex runs of a text, decoded, for the encodings the reader can decode. */
export function decodedForms(text: string, encodings: readonly Encoding[]): string[] {
  const out: string[] = [];
  if (encodings.includes("base64")) {
    for (const run of text.match(BASE64_RUN) ?? []) {
      const decoded = Buffer.from(run, "base64").toString("utf8");
      if (decoded.length >= 8 && printableShare(decoded) > 0.95) out.push(decoded);
    }
  }
  if (encodings.includes("hex")) {
    for (const run of text.match(HEX_RUN) ?? []) {
      const decoded = Buffer.from(run, "hex").toString("utf8");
      if (printableShare(decoded) > 0.95) out.push(decoded);
    }
  }
  return out;
}

/** Where in the context a text sits; profiles weigh compliance by it. */
export type Channel = "tool_output" | "memory" | "peer" | "system";

export interface ContextPart {
  readonly channel: Channel;
  readonly text: string;
}

export interface Sighting {
  readonly channel: Channel;
  /** Found as written (whitespace and case aside), not only after normalising: unmarked, undelimited. */
  readonly verbatim: boolean;
  /** Found only after decoding. */
  readonly decoded: boolean;
  /** Index of the part: later parts are more recent. */
  readonly position: number;
}

/** The model's reading of its context: each part normalised once, decoded forms included. */
export class Perception {
  private readonly parts: { channel: Channel; plain: string; normal: string; decoded: string }[];

  constructor(parts: readonly ContextPart[], encodings: readonly Encoding[]) {
    this.parts = parts.map((p) => ({
      channel: p.channel,
      plain: plain(p.text),
      normal: normalise(p.text),
      decoded: decodedForms(p.text, encodings).map(normalise).join("\u0000"),
    }));
  }

  get size(): number {
    return this.parts.length;
  }

  /** The most recent part that carries the core, or null when it is nowhere to be read. */
  find(core: string): Sighting | null {
    const wanted = normalise(core);
    if (wanted.length === 0) return null;
    const wantedPlain = plain(core);
    for (let i = this.parts.length - 1; i >= 0; i--) {
      const part = this.parts[i]!;
      if (part.normal.includes(wanted)) {
        return { channel: part.channel, verbatim: part.plain.includes(wantedPlain), decoded: false, position: i };
      }
      if (part.decoded.includes(wanted)) return { channel: part.channel, verbatim: false, decoded: true, position: i };
    }
    return null;
  }
}
