/**
 * Encoded runs found in one pass over the text. A regular expression such as `/[A-Za-z0-9+/]{16,}/g` keeps a
 * backtracking entry per character and overflows the engine's stack on a run of a few million characters (a 10 MB
 * payload); these scanners are linear and never recurse.
 */

const isBase64Char = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47;
const isHexChar = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
const isWordChar = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95;

/** Maximal runs of accepted characters, at least `min` long, as [start, end) pairs. */
function scan(text: string, accept: (c: number) => boolean, min: number): [number, number][] {
  const out: [number, number][] = [];
  let start = -1;
  for (let i = 0; i <= text.length; i++) {
    const inside = i < text.length && accept(text.charCodeAt(i));
    if (inside && start < 0) start = i;
    else if (!inside && start >= 0) {
      if (i - start >= min) out.push([start, i]);
      start = -1;
    }
  }
  return out;
}

/** Runs of base64 characters of at least `min`, with up to two `=` of padding: `/[A-Za-z0-9+/]{min,}={0,2}/g`. */
export function base64Runs(text: string, min = 16): { readonly run: string; readonly start: number; readonly end: number }[] {
  return scan(text, isBase64Char, min).map(([start, end]) => {
    let padded = end;
    while (padded < text.length && padded - end < 2 && text.charCodeAt(padded) === 61) padded++;
    return { run: text.slice(start, padded), start, end: padded };
  });
}

/**
 * Even-length runs of at least `min` hex digits. `bounded`: the run is a whole word (`/\b(?:[0-9a-f]{2}){8,}\b/gi`);
 * otherwise the longest even prefix of every hex run (`/(?:[0-9a-f]{2}){8,}/gi`).
 */
export function hexRuns(text: string, bounded: boolean, min = 16): { readonly run: string; readonly start: number; readonly end: number }[] {
  if (bounded) {
    return scan(text, isWordChar, min)
      .filter(([start, end]) => (end - start) % 2 === 0 && [...text.slice(start, end)].every((ch) => isHexChar(ch.charCodeAt(0))))
      .map(([start, end]) => ({ run: text.slice(start, end), start, end }));
  }
  return scan(text, isHexChar, min).map(([start, end]) => {
    const even = start + Math.floor((end - start) / 2) * 2;
    return { run: text.slice(start, even), start, end: even };
  });
}

/** Whether a whole token is base64 (`/^[A-Za-z0-9+/]{min,}={0,2}$/`). */
export function isBase64Token(token: string, min = 16): boolean {
  const body = token.replace(/={1,2}$/, "");
  if (body.length < min) return false;
  for (let i = 0; i < body.length; i++) if (!isBase64Char(body.charCodeAt(i))) return false;
  return true;
}

/** Whether a whole token is an even number of hex digits (`/^(?:[0-9a-f]{2}){min/2,}$/i`). */
export function isHexToken(token: string, min = 16): boolean {
  if (token.length < min || token.length % 2 !== 0) return false;
  for (let i = 0; i < token.length; i++) if (!isHexChar(token.charCodeAt(i))) return false;
  return true;
}

/** Replaces each run with what `replace` makes of it (the run itself when it returns null). */
export function replaceRuns(text: string, runs: readonly { readonly run: string; readonly start: number; readonly end: number }[], replace: (run: string) => string | null): string {
  if (runs.length === 0) return text;
  const parts: string[] = [];
  let at = 0;
  for (const r of runs) {
    parts.push(text.slice(at, r.start), replace(r.run) ?? r.run);
    at = r.end;
  }
  parts.push(text.slice(at));
  return parts.join("");
}

/** The text without what cannot be part of an encoded token at either end (`/^[^A-Za-z0-9+/=]+|[^A-Za-z0-9+/=]+$/g`). */
export function trimToEncoding(text: string): string {
  const keep = (c: number) => isBase64Char(c) || c === 61;
  let start = 0;
  let end = text.length;
  while (start < end && !keep(text.charCodeAt(start))) start++;
  while (end > start && !keep(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end);
}
