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
