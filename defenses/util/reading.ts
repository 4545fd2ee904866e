/**
 * Reading text for its information, not its bytes: what a reader (a model, or a measurement of what a rewrite
 * kept) can take from a text whatever marks were put between its words. Data-marking puts a marker where the
 * spaces were — a symbol, a letter, a word, a random token — and a reader reads through any of them, so matching
 * tolerates one consistent marker between the words of what is sought.
 */
import { decodeObfuscations, jsonParts } from "./decode.ts";
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
/** Whitespace as `\s` knows it, by code unit. */
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || c === 160 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/** The shortest string the text is a repetition of ("datadata" → "data"); the text itself when it repeats nothing. */
function unitOf(text: string): string {
  for (let period = 1; period <= text.length / 2; period++) {
    if (text.length % period === 0 && text.slice(0, period).repeat(text.length / period) === text) return text.slice(0, period);
  }
  return text;
}

/** Whether two spans of a text hold the same characters, without copying them. */
function sameSpan(text: string, a: number, aEnd: number, b: number, bEnd: number): boolean {
  if (aEnd - a !== bEnd - b || aEnd < a) return false;
  for (let k = 0; k < aEnd - a; k++) if (text.charCodeAt(a + k) !== text.charCodeAt(b + k)) return false;
  return true;
}

/** How many guesses at an unknown marker a decoder tries. */
const MARKER_GUESSES = 6;

/** A region of a text: read (normalised) only when it is long enough to hold what is sought. */
interface Region {
  readonly text: string;
  readonly length: number;
  reader: ReadText | undefined;
}

/**
 * A text as a reader takes it in: normalised once, with what it takes to read through a marker worked out only
 * when a plain search fails.
 */
export class ReadText {
  readonly normal: string;
  private layout: { readonly glued: boolean; readonly boundaries: number; readonly marked: boolean } | null = null;
  private readonly counts = new Map<string, number>();
  private guesses: readonly string[] | null = null;
  private lines: readonly Region[] | null = null;

  constructor(readonly raw: string) {
    this.normal = normalise(raw);
  }

  /** A text whose spaces were replaced by a marker: fewer than one separator per twelve characters. */
  get glued(): boolean {
    return this.shape().glued;
  }

  /**
   * Whether the sought text can be read here: as written (case, spacing, symbols aside) or through a marker — in the
   * whole text, or in one of its lines: a header, a list of notes or a quoted message around marked text is read as
   * a region of its own, as a person reads it.
   */
  contains(wanted: Sought): boolean {
    if (wanted.normal.length === 0) return false;
    if (this.normal.includes(wanted.normal) || this.throughMarker(wanted.words)) return true;
    // A region can hold the sought text only if it is as long, and only if the text holds its first and last words.
    const { words } = wanted;
    if (words.length < 2 || !this.normal.includes(words[0]!) || !this.normal.includes(words[words.length - 1]!)) return false;
    return this.regions().some((region) => region.length >= wanted.normal.length && (region.reader ??= new ReadText(region.text)).throughMarker(words));
  }

  /**
   * The text's regions, each read on its own: its lines, and what follows a line's first colon ("Message from worker:
   * …", "What I found so far: …"). None for a text of one line without a colon.
   */
  private regions(): readonly Region[] {
    if (this.lines === null) {
      const lines = this.raw.split("\n").filter((line) => line.trim().length > 0);
      const regions = lines.length > 1 ? [...lines] : [];
      for (const line of lines) {
        const colon = line.indexOf(": ");
        if (colon >= 0) regions.push(line.slice(colon + 2));
      }
      this.lines = regions.map((text) => ({ text, length: text.length, reader: undefined }));
    }
    return this.lines;
  }

  /**
   * Finds the words in order with one marker between them (or nothing, where the marking left a word boundary
   * alone). Only a text that looks marked is searched so: one with hardly any spaces left (the marker took their
   * place), or one where the same character stands at most word boundaries (a marker beside the spaces).
   */
  private throughMarker(words: readonly string[]): boolean {
    if (words.length < 2 || !this.shape().marked) return false;
    const first = words[0]!;
    for (let at = this.normal.indexOf(first); at >= 0; at = this.normal.indexOf(first, at + 1)) {
      if (this.wordsFrom(at + first.length, words)) return true;
    }
    return false;
  }

  /**
   * Whether the words after the first follow from `start`. The marker is whatever stands before the first word that
   * does not follow directly; from there each word follows the marker (or, where the marking skipped a boundary,
   * nothing).
   */
  private wordsFrom(start: number, words: readonly string[]): boolean {
    const text = this.normal;
    let pos = start;
    for (let k = 1; k < words.length; k++) {
      const word = words[k]!;
      // Each place the word occurs within reach is a candidate: the marker may contain the word itself.
      const window = text.slice(pos + 1, pos + 1 + MAX_MARKER + word.length);
      for (let gap = window.indexOf(word); gap >= 0; gap = window.indexOf(word, gap + 1)) {
        const gapText = text.slice(pos, pos + 1 + gap);
        // Text marked twice over stands a marker several times in a row: its unit is the marker.
        const marker = unitOf(gapText);
        if (this.isMarker(marker) && this.markedFrom(pos + gapText.length + word.length, words, k + 1, marker)) return true;
      }
      if (!text.startsWith(word, pos)) return false;
      pos += word.length;
    }
    return true;
  }

  /**
   * The words from `from` on, each after one or more markers (a token of symbols alone, "|" or "—", leaves two in a
   * row) or after none. Where both readings fit (the marker begins with the word: "to" and "toString") each is tried;
   * positions already tried are not tried again, so the search stays linear in the text.
   */
  private markedFrom(start: number, words: readonly string[], from: number, marker: string): boolean {
    const text = this.normal;
    const pending: [number, number][] = [[start, from]];
    const tried = new Set<number>();
    while (pending.length > 0) {
      const [pos, k] = pending.pop()!;
      if (k === words.length) return true;
      const key = pos * (words.length + 1) + k;
      if (tried.has(key)) continue;
      tried.add(key);
      const word = words[k]!;
      for (let at = pos; ; at += marker.length) {
        if (text.startsWith(word, at)) pending.push([at + word.length, k + 1]);
        if (!text.startsWith(marker, at)) break;
      }
    }
    return false;
  }

  /**
   * A marker recurs: in a glued text (where it took the place of every space — few, in a table or JSON), three times
   * or more; beside the spaces, at a third of the word boundaries or more. A text with fewer words is read plainly.
   */
  private isMarker(marker: string): boolean {
    const { glued, boundaries } = this.shape();
    const n = this.count(marker);
    return glued ? n >= 3 : n >= Math.max(3, boundaries / 3);
  }

  /**
   * Guesses at the marker of a glued text, for decoders: a marker made of letters or digits glues itself to an
   * encoded run (a base64 blob, a leetspeak word) that a reader still sees as separate. The marker is not known, so
   * the most telling recurring strings of one to twelve characters with a letter or digit in it (by count times
   * length, found three times or more) are guessed: a few readings, of which the right one decodes. None for a text
   * that is not glued.
   */
  markerGuesses(): readonly string[] {
    if (this.guesses === null) {
      this.guesses = [];
      if (this.shape().glued) {
        const head = this.raw.slice(0, 8000);
        const candidates: { marker: string; score: number }[] = [];
        for (let length = 1; length <= 12; length++) {
          const counts = new Map<string, number>();
          for (let i = 0; i + length <= head.length; i++) {
            const piece = head.slice(i, i + length);
            counts.set(piece, (counts.get(piece) ?? 0) + 1);
          }
          for (const [piece, n] of counts) if (n >= 3 && /[\p{L}\p{N}]/u.test(piece)) candidates.push({ marker: piece, score: n * length });
        }
        candidates.sort((a, b) => b.score - a.score);
        this.guesses = candidates.slice(0, MARKER_GUESSES).map((c) => c.marker);
      }
    }
    return this.guesses;
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
      // What stands right after and right before each run of spaces: a marker beside the spaces dominates one of them.
      const raw = this.raw;
      // A marker written as a word of its own between spaces (" DATA ") stands as every other token.
      const after = new Map<number, number>();
      const before = new Map<number, number>();
      // Tokens two apart that are equal: every other token of a text marked with a word of its own.
      let [twoBackStart, twoBackEnd, oneBackStart, oneBackEnd] = [0, -1, 0, -1];
      let repeats = 0;
      let boundaries = 0;
      let dominant = 0;
      let tokenStart = 0;
      for (let i = 1; i < raw.length; i++) {
        if (!isSpace(raw.charCodeAt(i)) || isSpace(raw.charCodeAt(i - 1))) continue;
        let end = i + 1;
        while (end < raw.length && isSpace(raw.charCodeAt(end))) end++;
        if (end === raw.length) break;
        boundaries++;
        if (sameSpan(raw, twoBackStart, twoBackEnd, tokenStart, i)) dominant = Math.max(dominant, 2 * ++repeats);
        twoBackStart = oneBackStart;
        twoBackEnd = oneBackEnd;
        oneBackStart = tokenStart;
        oneBackEnd = i;
        tokenStart = end;
        const next = raw.codePointAt(end)!;
        const prev = raw.charCodeAt(i - 1);
        const n = (after.get(next) ?? 0) + 1;
        const p = (before.get(prev) ?? 0) + 1;
        after.set(next, n);
        before.set(prev, p);
        dominant = Math.max(dominant, n, p);
        i = end - 1;
      }
      // Spaces were replaced when fewer than one separator is left per twelve characters.
      const glued = boundaries * 12 < raw.length;
      this.layout = { glued, boundaries, marked: glued || (boundaries >= 4 && dominant >= boundaries / 2) };
    }
    return this.layout;
  }
}

/**
 * Whether a rewrite kept everything the original said: marking, delimiting, adding a warning, decoding an
 * obfuscation, changing case and spacing, re-wrapping lines or writing JSON's keys in another order keep it; redacting, truncating or replacing a part removes it.
 * Text hidden in tag characters counts as said: stripping it removes information, revealing it keeps it.
 */
export function keepsInformation(before: string, after: string): boolean {
  if (before === after) return true;
  const revealedBefore = revealTags(before);
  if (normalise(revealedBefore).length === 0) return true;
  const reader = new ReadText(revealTags(after));
  if (reader.contains(sought(revealedBefore))) return true;
  // Data keeps its facts whatever order its keys are written in: every key and value still readable is kept.
  const facts = jsonFacts(revealedBefore);
  if (facts !== null) {
    // JSON read as JSON: its strings as they are, not as their escapes.
    const afterFacts = jsonFacts(revealTags(after));
    const factReader = afterFacts === null ? reader : new ReadText(afterFacts.join("\n"));
    if (facts.every((fact) => factReader.normal.includes(normalise(fact)) || factReader.contains(sought(fact)))) return true;
  }
  const decoded = sought(decodeObfuscations(revealedBefore).text);
  return reader.contains(decoded) || new ReadText(decodeObfuscations(reader.raw).text).contains(decoded);
}

/** The keys and values of a JSON text, each a fact to keep; null for text that is not a JSON object or array. */
function jsonFacts(text: string): string[] | null {
  const parts = jsonParts(text);
  return parts && [...parts.keys, ...parts.strings, ...parts.scalars].filter((fact) => normalise(fact).length > 0);
}
