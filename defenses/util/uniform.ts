import { createHash } from "node:crypto";

/** A deterministic draw in [0, 1) from a key: the same key always gives the same number, on any machine. */
export function uniform(key: string): number {
  const digest = createHash("sha256").update(key).digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}
