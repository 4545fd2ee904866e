/**
 * Reading text for its information, not its bytes: what a reader (a model, or a measurement of what a rewrite
 * kept) can take from a text whatever marks were put between its words. Data-marking puts a marker where the
 * spaces were — a symbol, a letter, a word, a random token — and a reader reads through any of them, so matching
 * tolerates one consistent marker between the words of what is sought.
 */
import { decodeObfuscations } from "./decode.ts";
import { normalise } from "./normalise.ts";

/** Unicode tag characters mirror printable ASCII one to one: invisible on screen, read by some models. */
const TAG_RUN = /[\u{E0020}-\u{E007E}]+/gu;
const TAG_OFFSET = 0xe0000;

/** Text hidden in Unicode tag characters ("ASCII smuggling"), each run decoded. */
export function hiddenTagText(text: string): string[] {
  return [...text.matchAll(TAG_RUN)].map((m) => decodeTags(m[0]));
}

/** The text with each run of tag characters replaced by the ASCII it mirrors. */
export function revealTags(text: string): string {
  return text.replace(TAG_RUN, decodeTags);
}

function decodeTags(run: string): string {
  let out = "";
  for (const c of run) out += String.fromCodePoint(c.codePointAt(0)! - TAG_OFFSET);
  return out;
}

/** What is sought: its normalised form, and its words normalised one by one (a marker may sit between them). */
export interface Sought {
  readonly normal: string;
  readonly words: readonly string[];
}

export function sought(text: string): Sought {
  const words = text.split(/\s+/).map(normalise).filter((w) => w.length > 0);
  return { normal: words.join(""), words };
}

/** Longest marker between two words that is read as a marker, in normalised characters. */
const MAX_MARKER = 24;

/**
 * A text as a reader takes it in: normalised once, with what it takes to read through a marker worked out only
 * when a plain search fails.
 */
export class ReadText {
  readonly normal: string;
  private layout: { readonly glued: boolean; readonly standalone: string | null } | null = null;
  private readonly counts = new Map<string, number>();

  constructor(readonly raw: string) {
    this.normal = normalise(raw);
  }

  /** Whether the sought text can be read here: as written (case, spacing, symbols aside) or through a marker. */
  contains(wanted: Sought): boolean {
    if (wanted.normal.length === 0) return false;
    return this.normal.includes(wanted.normal) || this.throughMarker(wanted.words);
  }

  /**
   * Finds the words in order with one marker between them (or nothing, where the marking left a word boundary
   * alone). Only a text that looks marked is searched so: one with hardly any spaces left (the marker took their
   * place), or one where a single token stands between most words.
   */
  private throughMarker(words: readonly string[]): boolean {
    if (words.length < 2) return false;
    const { glued, standalone } = this.shape();
    if (!glued && standalone === null) return false;
    const first = words[0]!;
    for (let at = this.normal.indexOf(first); at >= 0; at = this.normal.indexOf(first, at + 1)) {
      if (this.wordsFrom(at + first.length, words)) return true;
    }
    return false;
  }

  private wordsFrom(start: number, words: readonly string[]): boolean {
    const text = this.normal;
    let pos = start;
    let marker: string | null = null;
    for (let k = 1; k < words.length; k++) {
      const word = words[k]!;
      if (text.startsWith(word, pos)) {
        pos += word.length;
      } else if (marker !== null) {
        if (!text.startsWith(marker, pos) || !text.startsWith(word, pos + marker.length)) return false;
        pos += marker.length + word.length;
      } else {
        const next = text.indexOf(word, pos + 1);
        if (next < 0 || next - pos > MAX_MARKER) return false;
        marker = text.slice(pos, next);
        if (!this.isMarker(marker)) return false;
        pos = next + word.length;
      }
    }
    return true;
  }

  /**
   * A marker stands between most words: as a token of its own, or, in a glued text, about once a word — at least
   * once for every twelve other characters (words average five or six).
   */
  private isMarker(marker: string): boolean {
    const { glued, standalone } = this.shape();
    if (marker === standalone) return true;
    if (!glued) return false;
    const n = this.count(marker);
    return n >= Math.max(1, Math.floor((this.normal.length - n * marker.length) / 12));
  }

  private count(marker: string): number {
    let n = this.counts.get(marker);
    if (n === undefined) {
      n = 0;
      for (let at = this.normal.indexOf(marker); at >= 0; at = this.normal.indexOf(marker, at + marker.length)) n++;
      this.counts.set(marker, n);
    }
    return n;
  }

  private shape() {
    if (!this.layout) {
      const tokens = this.raw.split(/\s+/).filter((t) => t.length > 0);
      let standalone: string | null = null;
      if (tokens.length >= 5) {
        const freq = new Map<string, number>();
        for (const t of tokens) freq.set(t, (freq.get(t) ?? 0) + 1);
        const [top, n] = [...freq].reduce((a, b) => (b[1] > a[1] ? b : a));
        const marker = normalise(top);
        if (n >= tokens.length / 4 && marker.length > 0) standalone = marker;
      }
      // Spaces were replaced when fewer than one separator is left per twelve characters.
      const separators = tokens.length - 1;
      this.layout = { glued: Math.max(0, separators) * 12 < this.raw.length, standalone };
    }
    return this.layout;
  }
}

/**
 * Whether a rewrite kept everything the original said: marking, delimiting, adding a warning, decoding an
 * obfuscation or changing case and spacing keep it; redacting, truncating or replacing a part removes it.
 * Text hidden in tag characters counts as said: stripping it removes information, revealing it keeps it.
 */
export function keepsInformation(before: string, after: string): boolean {
  if (before === after) return true;
  const revealedBefore = revealTags(before);
  if (normalise(revealedBefore).length === 0) return true;
  const reader = new ReadText(revealTags(after));
  if (reader.contains(sought(revealedBefore))) return true;
  const decoded = sought(decodeObfuscations(revealedBefore).text);
  return reader.contains(decoded) || new ReadText(decodeObfuscations(reader.raw).text).contains(decoded);
}
