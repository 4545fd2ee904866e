/**
 * What the simulated model can read in a text. Seeing is about information, not bytes: a payload or a value is
 * read when it survives in the text after every information-preserving change a defense or an attacker might make —
 * delimiters of any shape, data-marking with any marker, whitespace and case, zero-width characters, compatibility
 * forms and look-alike letters, or an encoding the reader can decode (base64, hex, rot13, leetspeak, text hidden in
 * Unicode tag characters). Only removal (redaction, withholding, quarantine) makes it unread.
 */
import { CONFUSABLES, rot13, UNLEET, ZERO_WIDTH } from "../../../defenses/util/alphabets.ts";
import { normalise } from "../../../defenses/util/normalise.ts";
import { hiddenTagText, ReadText, type Sought, sought } from "../../../defenses/util/reading.ts";
import { base64Runs, hexRuns, isBase64Token, isHexToken, trimToEncoding } from "../../../defenses/util/runs.ts";

export { normalise };

const CONFUSABLE_CHARS = new RegExp(`[${[...CONFUSABLES.keys()].join("")}]`, "g");

/**
 * What a person sees of a text: whitespace collapsed, lower case, compatibility forms, look-alike letters and
 * invisible characters undone. A text that differs from another only by what nobody sees is the same text.
 */
export function plain(text: string): string {
  return text
    .normalize("NFKC")
    .replace(ZERO_WIDTH, "")
    .replace(CONFUSABLE_CHARS, (c) => CONFUSABLES.get(c) ?? c)
    .toLowerCase()
    .replace(/\s+/g, " ")
    .trim();
}

const unleetDigits = (text: string) => text.replace(/[0-9]/g, (d) => UNLEET.get(d) ?? d);


function printableShare(text: string): number {
  if (text.length === 0) return 0;
  let printable = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // A replacement character is what undecodable bytes become: not text.
    if ((c >= 32 && c < 127) || c === 10 || c === 13 || c === 9 || (c >= 160 && c !== 0xfffd)) printable++;
  }
  return printable / text.length;
}

/**
 * What a reader may be able to decode. `unicode-tags`: text written in invisible Unicode tag characters, which
 * strong models are documented to read although people see nothing ("ASCII smuggling": Goodside, 2024;
 * Rehberger, 2024, on Microsoft 365 Copilot and ChatGPT).
 */
export const ENCODINGS = ["base64", "hex", "rot13", "leetspeak", "unicode-tags"] as const;
export type Encoding = (typeof ENCODINGS)[number];

/**
 * Encodings a reader takes in without being asked: leetspeak reads as letters, and tag characters reach a model as
 * text. Base64, hex and rot13 a model decodes when the text asks it to or names the encoding (every encoded attack
 * says "decode it", "hex:", "ROT13:"); a tool output encoded without a word is, to a model, a string of noise.
 */
const UNPROMPTED: ReadonlySet<Encoding> = new Set(["leetspeak", "unicode-tags"]);
const DECODING_WORDS = ["decode", "encoded", "base64", "hex", "rot13", "cipher"];

/** Whether a text asks for decoding: a decoding word outside the encoded runs themselves (which may spell anything). */
function promptsDecoding(text: string): boolean {
  let rest = text;
  for (const { run } of base64Runs(text)) if (printableShare(Buffer.from(run, "base64").toString("utf8")) > 0.95) rest = rest.replace(run, " ");
  for (const { run } of hexRuns(text, true)) if (printableShare(Buffer.from(run, "hex").toString("utf8")) > 0.95) rest = rest.replace(run, " ");
  const normal = normalise(rest);
  // A hint may itself have been flipped by a partial ROT13 decoding ("ebg13 grkg:"): read both ways.
  const flipped = rot13(normal);
  return DECODING_WORDS.some((word) => normal.includes(word) || flipped.includes(word));
}

/** Texts hidden in a text, decoded, for the encodings the reader can decode. */
export function decodedForms(text: string, encodings: readonly Encoding[]): string[] {
  const out: string[] = [];
  if (encodings.includes("base64")) {
    for (const { run } of base64Runs(text)) {
      const decoded = Buffer.from(run, "base64").toString("utf8");
      if (decoded.length >= 8 && printableShare(decoded) > 0.95) out.push(decoded);
    }
  }
  if (encodings.includes("hex")) {
    for (const { run } of hexRuns(text, true)) {
      const decoded = Buffer.from(run, "hex").toString("utf8");
      if (printableShare(decoded) > 0.95) out.push(decoded);
    }
  }
  if (encodings.includes("rot13")) out.push(rot13(text));
  if (encodings.includes("unicode-tags")) out.push(...hiddenTagText(text));
  return out;
}

/**
 * Runs long enough to hide an instruction once a marker is stuck to them: shorter ones are words and identifiers
 * (an IBAN has 22 characters), not worth trying to decode in pieces.
 */
const SUSPECT_RUN = 24;
const longRuns = (found: readonly { readonly run: string }[]) => found.map((r) => r.run).filter((run) => run.length >= SUSPECT_RUN);

/** Longest marker a glued encoded run may carry at either end. */
const MAX_EDGE = 12;

/**
 * Encoded runs of a glued text (its spaces replaced by a marker), decoded: a marker of letters or digits sticks to
 * the run at either end, so a run that does not decode is tried again without up to twelve characters at each end.
 */
function decodedGlued(text: string, encodings: readonly Encoding[]): string[] {
  const out: string[] = [];
  const attempt = (runs: readonly string[], decode: (run: string) => string | null) => {
    for (const run of runs) {
      found: for (let a = 0; a <= MAX_EDGE; a++) {
        for (let b = 0; b <= MAX_EDGE && run.length - a - b >= 16; b++) {
          const decoded = decode(run.slice(a, run.length - b));
          if (decoded !== null) {
            out.push(decoded);
            break found;
          }
        }
      }
    }
  };
  if (encodings.includes("base64")) {
    attempt(longRuns(base64Runs(text)), (run) => {
      // Only an exact encoding: a stray character at an end shifts every byte, yet may still read as printable.
      const bytes = Buffer.from(run, "base64");
      if (bytes.toString("base64").replace(/=+$/, "") !== run.replace(/=+$/, "")) return null;
      const decoded = bytes.toString("utf8");
      return decoded.length >= 8 && printableShare(decoded) > 0.95 ? decoded : null;
    });
  }
  if (encodings.includes("hex")) {
    attempt(longRuns(hexRuns(text, false)), (run) => {
      if (run.length % 2 !== 0) return null;
      const decoded = Buffer.from(run, "hex").toString("utf8");
      return printableShare(decoded) > 0.95 ? decoded : null;
    });
  }
  return out;
}

/** Longest run of pieces an encoded token may have been cut into by a marker that is also one of its characters. */
const MAX_PIECES = 24;

/**
 * Encoded tokens in a text whose spaces became a marker, decoded. Where the marker is also a character of the
 * encoding ("e" in hex, "N" in base64) it cuts a token into pieces as well; the token is the run of consecutive
 * pieces, joined back by the marker, that decodes.
 */
function decodedThroughMarker(text: string, marker: string, encodings: readonly Encoding[]): string[] {
  const base64 = encodings.includes("base64");
  const hex = encodings.includes("hex");
  if (!base64 && !hex) return [];
  const pieces = text.split(marker).map(trimToEncoding);
  const out: string[] = [];
  for (let i = 0; i < pieces.length; i++) {
    let token = "";
    for (let j = i; j < Math.min(pieces.length, i + MAX_PIECES); j++) {
      token = j === i ? pieces[j]! : `${token}${marker}${pieces[j]}`;
      if (hex && isHexToken(token)) {
        const decoded = Buffer.from(token, "hex").toString("utf8");
        if (printableShare(decoded) > 0.95) out.push(decoded);
      } else if (base64 && isBase64Token(token)) {
        const decoded = Buffer.from(token, "base64").toString("utf8");
        if (decoded.length >= 8 && printableShare(decoded) > 0.95) out.push(decoded);
      }
    }
  }
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
  /** Found as a person sees it written (whitespace, case and invisible characters aside): no marker between its words. */
  readonly verbatim: boolean;
  /** Found only after decoding. */
  readonly decoded: boolean;
  /** Index of the part: later parts are more recent. */
  readonly position: number;
  /** The text it was read in, as it reached the model. */
  readonly forms: ReadForms;
}

/**
 * Every form a text can take for a reader with these encodings, worked out once and only when asked: keep it for
 * the text's life. Decoded forms come from the text as written and, when it is marked, from the text unmarked.
 */
export class ReadForms {
  readonly reading: ReadText;
  private plainForm: string | null = null;
  private decodedForms: readonly ReadText[] | null = null;
  private unleetForm: ReadText | null | undefined = undefined;

  constructor(
    readonly text: string,
    readonly encodings: readonly Encoding[],
  ) {
    this.reading = new ReadText(text);
  }

  get plain(): string {
    this.plainForm ??= plain(this.text);
    return this.plainForm;
  }

  get decoded(): readonly ReadText[] {
    if (!this.decodedForms) {
      // Guessing the marker is costly: only for a glued text with a run long enough to be an encoded instruction.
      const suspect = this.reading.glued && (longRuns(base64Runs(this.text)).length > 0 || longRuns(hexRuns(this.text, false)).length > 0);
      const guesses = suspect ? this.reading.markerGuesses() : [];
      const prompted = this.encodings.some((e) => !UNPROMPTED.has(e)) && promptsDecoding(this.text);
      const encodings = this.encodings.filter((e) => UNPROMPTED.has(e) || prompted);
      const forms = [
        ...decodedForms(this.text, encodings),
        ...(this.reading.glued ? decodedGlued(this.text, encodings) : []),
        ...guesses.flatMap((marker) => [...decodedForms(this.text.replaceAll(marker, " "), encodings), ...decodedThroughMarker(this.text, marker, encodings)]),
      ];
      this.decodedForms = forms.map((form) => new ReadText(form));
    }
    return this.decodedForms;
  }

  /** The text with leetspeak digits read as letters (a digit marker with them: it stays one consistent marker). */
  get unleet(): ReadText | null {
    if (this.unleetForm === undefined) this.unleetForm = this.encodings.includes("leetspeak") ? new ReadText(unleetDigits(this.text)) : null;
    return this.unleetForm;
  }
}

/** A text where the model reads it: a channel and the text's forms. */
export class ReadPart {
  readonly forms: ReadForms;

  constructor(
    readonly channel: Channel,
    text: string | ReadForms,
    encodings: readonly Encoding[],
  ) {
    this.forms = typeof text === "string" ? new ReadForms(text, encodings) : text;
  }

  /** Where the sought text is read in this part as it stands, or null. */
  sight(wanted: Sought, wantedPlain: string | null, position: number): Sighting | null {
    const { reading } = this.forms;
    if (!reading.contains(wanted)) return null;
    const verbatim = wantedPlain !== null && reading.normal.includes(wanted.normal) && this.forms.plain.includes(wantedPlain);
    return { channel: this.channel, verbatim, decoded: false, position, forms: this.forms };
  }

  /** Where the sought text is read in this part once decoded, or null. */
  sightDecoded(wanted: Sought, wantedUnleet: Sought | null, position: number): Sighting | null {
    const { decoded, unleet } = this.forms;
    if (decoded.some((d) => d.contains(wanted)) || (wantedUnleet !== null && unleet !== null && unleet.contains(wantedUnleet))) {
      return { channel: this.channel, verbatim: false, decoded: true, position, forms: this.forms };
    }
    return null;
  }
}

/** What is sought, worked out once per text: the same payload cores and values are looked for at every step. */
const soughtCache = new Map<string, Sought>();
function soughtOf(text: string): Sought {
  let wanted = soughtCache.get(text);
  if (!wanted) {
    if (soughtCache.size >= 20_000) soughtCache.clear();
    wanted = sought(text);
    soughtCache.set(text, wanted);
  }
  return wanted;
}

/** The model's reading of its context: the parts in order, each read once. */
export class Perception {
  private readonly parts: readonly ReadPart[];
  private readonly leet: boolean;

  constructor(parts: readonly (ContextPart | ReadPart)[], encodings: readonly Encoding[]) {
    this.leet = encodings.includes("leetspeak");
    this.parts = parts.map((p) => (p instanceof ReadPart ? p : new ReadPart(p.channel, p.text, encodings)));
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

  /** Whether a value (an address, an amount, a fact) can be read anywhere in the context: where does not matter. */
  reads(value: string): boolean {
    const wanted = soughtOf(value);
    if (wanted.normal.length === 0) return false;
    if (this.parts.some((part, i) => part.sight(wanted, null, i) !== null)) return true;
    const wantedUnleet = this.leet ? soughtOf(unleetDigits(value)) : null;
    return this.parts.some((part, i) => part.sightDecoded(wanted, wantedUnleet, i) !== null);
  }

  /** Whether a text can be read, as it stands, in a part from `from` on other than `except`. */
  readsFrom(text: string, from: number, except: number): boolean {
    const wanted = soughtOf(text);
    if (wanted.normal.length === 0) return false;
    for (let i = Math.max(0, from); i < this.parts.length; i++) if (i !== except && this.parts[i]!.sight(wanted, null, i) !== null) return true;
    return false;
  }

  private findOne(text: string): Sighting | null {
    const wanted = soughtOf(text);
    if (wanted.normal.length === 0) return null;
    const wantedPlain = plain(text);
    const wantedUnleet = this.leet ? soughtOf(unleetDigits(text)) : null;
    // The most recent part that carries it, read as it stands or decoded; decoding (the costly reading) is tried
    // only in parts more recent than the latest plain sighting.
    let plainSighting: Sighting | null = null;
    for (let i = this.parts.length - 1; i >= 0 && !plainSighting; i--) plainSighting = this.parts[i]!.sight(wanted, wantedPlain, i);
    for (let i = this.parts.length - 1; i > (plainSighting?.position ?? -1); i--) {
      const sighting = this.parts[i]!.sightDecoded(wanted, wantedUnleet, i);
      if (sighting) return sighting;
    }
    return plainSighting;
  }
}
