/** Lower case without whitespace: how argument values and context text are compared. */
export const squash = (text: string) => text.toLowerCase().replace(/\s+/g, "");

/** Every string and number inside a tool argument (arrays and objects walked), as strings. */
export function argumentValues(value: unknown): string[] {
  if (typeof value === "string") return value.trim() ? [value.trim()] : [];
  if (typeof value === "number") return [String(value)];
  if (Array.isArray(value)) return value.flatMap(argumentValues);
  if (value && typeof value === "object") return Object.values(value).flatMap(argumentValues);
  return [];
}

/** Arguments that hold prose by convention across suites: a model words them, whatever their length. */
export const PROSE_ARGS: ReadonlySet<string> = new Set(["subject", "body", "content", "text", "title", "memo", "reference", "note", "message", "description", "summary", "query", "payload", "comment"]);

/** Free text: an argument a person reads for what it says, not for its exact words. */
export const isProse = (key: string, value: unknown) => typeof value === "string" && (PROSE_ARGS.has(key) || value.trim().split(/\s+/).length >= 6);

/**
 * The facts in a piece of prose: the words nobody can make up — those with a digit, an @, or a path or address
 * inside (figures, dates, amounts, IBANs, e-mail addresses, URLs, file names, ids). The rest is wording.
 */
export function factsOf(prose: string): string[] {
  return prose
    .split(/\s+/)
    .map((word) => word.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, ""))
    .filter((word) => /[0-9@]|\p{L}[./]\p{L}/u.test(word));
}
