/**
 * What the simulated model can read in a text. Seeing is about information, not bytes: a payload is seen when
 * its core survives in the text after every information-preserving change a defense or an attacker might make —
 * delimiters, data-marking, whitespace and case, zero-width characters, compatibility forms and look-alike letters,
 * or an encoding the reader can decode (base64, hex, rot13, leetspeak). Only removal (redaction, withholding,
 * quarantine) makes it unseen.
 */
import { rot13, UNLEET } from "../../../defenses/util/alphabets.ts";
import { normalise } from "../../../defenses/util/normalise.ts";

export { normalise };

/** Whitespace-collapsed lower case: what survives when the text is left as written. */
export function plain(text: string): string {
  return text.toLowerCase().replace(/\s+/g, " ").trim();
}

const unleet = (normal: string) => normal.replace(/[0-9]/g, (d) => UNLEET.get(d) ?? d);

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

export const ENCODINGS = ["base64", "hex", "rot13", "leetspeak"] as const;
export type Encoding = (typeof ENCODINGS)[number];

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
  if (encodings.includes("rot13")) out.push(rot13(text));
  return out;
}

/** Where in the context a text sits; profiles weigh compliance by it. */
export type Channel = "tool_output" | "memory" | "peer" | "tool_description" | "system" | "user";

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

interface ReadPart {
  channel: Channel;
  plain: string;
  normal: string;
  decoded: string;
  unleet: string;
}

/** The model's reading of its context: each part normalised once, decoded forms included. */
export class Perception {
  private readonly parts: ReadPart[];

  constructor(
    parts: readonly ContextPart[],
    private readonly encodings: readonly Encoding[],
  ) {
    const leet = encodings.includes("leetspeak");
    this.parts = parts.map((p) => {
      const normal = normalise(p.text);
      return {
        channel: p.channel,
        plain: plain(p.text),
        normal,
        decoded: decodedForms(p.text, encodings).map(normalise).join("\u0000"),
        unleet: leet ? unleet(normal) : "",
      };
    });
  }

  get size(): number {
    return this.parts.length;
  }

  /**
   * Where the core is read, or null when it is nowhere to be read. A core given in fragments (a payload split
   * across sources) is read when every fragment is; the sighting is the most recent fragment's.
   */
  find(core: string | readonly string[]): Sighting | null {
    const fragments = typeof core === "string" ? [core] : core;
    let latest: Sighting | null = null;
    let verbatim = true;
    let decoded = false;
    for (const fragment of fragments) {
      const sighting = this.findOne(fragment);
      if (!sighting) return null;
      verbatim &&= sighting.verbatim;
      decoded ||= sighting.decoded;
      if (!latest || sighting.position > latest.position) latest = sighting;
    }
    return latest && { ...latest, verbatim, decoded };
  }

  private findOne(core: string): Sighting | null {
    const wanted = normalise(core);
    if (wanted.length === 0) return null;
    const wantedPlain = plain(core);
    const wantedUnleet = this.encodings.includes("leetspeak") ? unleet(wanted) : null;
    for (let i = this.parts.length - 1; i >= 0; i--) {
      const part = this.parts[i]!;
      if (part.normal.includes(wanted)) {
        return { channel: part.channel, verbatim: part.plain.includes(wantedPlain), decoded: false, position: i };
      }
      if (part.decoded.includes(wanted) || (wantedUnleet !== null && part.unleet.includes(wantedUnleet))) {
        return { channel: part.channel, verbatim: false, decoded: true, position: i };
      }
    }
    return null;
  }
}
