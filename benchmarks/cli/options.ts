/** Option parsers the commands share; a bad value is a {@link UsageError}: one message, exit code 2. */

/** Bad input the user can fix: one message, exit code 2. */
export class UsageError extends Error {
  readonly code = "bad_input";
}

export const list = (value: string) => value.split(",").map((s) => s.trim()).filter(Boolean);
export const positiveInt = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer, got "${value}"`);
  return n;
};
export const rateOption = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new UsageError(`--${name} must be a rate between 0 and 1, got "${value}"`);
  return n;
};
/** An `--operating-point` that none of the chosen vaccinators has would change nothing: a usage error, not silence. */
export function checkOperatingPoint(operatingPoint: number | undefined, chosen: readonly { readonly id: string; readonly operatingPoint?: number }[], all: readonly { readonly id: string; readonly operatingPoint?: number }[]): void {
  if (operatingPoint === undefined || chosen.some((v) => v.operatingPoint !== undefined)) return;
  const which = chosen.length === 1 ? `${chosen[0]!.id} has no operating point` : `none of ${chosen.map((v) => v.id).join(", ")} has an operating point`;
  throw new UsageError(`--operating-point: ${which}. Vaccinators with one: ${all.filter((v) => v.operatingPoint !== undefined).map((v) => v.id).join(", ")}`);
}
export const rateList = (name: string) => (value: string) => list(value).map(rateOption(name));
export const nonNegativeInt = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} must be a whole number >= 0, got "${value}"`);
  return n;
};
