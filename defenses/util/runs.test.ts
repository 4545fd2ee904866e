import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeObfuscations } from "./decode.ts";
import { keepsInformation, ReadText } from "./reading.ts";
import { base64Runs, hexRuns, isBase64Token, isHexToken, trimToEncoding } from "./runs.ts";

/** The linear scanners find what the regular expressions they replace found, and survive texts those could not. */
describe("encoded-run scanners", () => {
  const texts = fc.string({ unit: fc.constantFrom(..."aZ09+/=fG_ -x.\n"), maxLength: 80 });
  const runsOf = (found: readonly { run: string }[]) => found.map((r) => r.run);

  it("equal the regular expressions on any text (property, fixed seed)", () => {
    fc.assert(
      fc.property(texts, (t) => {
        expect(runsOf(base64Runs(t))).toEqual(t.match(/[A-Za-z0-9+/]{16,}={0,2}/g) ?? []);
        expect(runsOf(hexRuns(t, true))).toEqual(t.match(/\b(?:[0-9a-fA-F]{2}){8,}\b/g) ?? []);
        expect(runsOf(hexRuns(t, false))).toEqual(t.match(/(?:[0-9a-fA-F]{2}){8,}/g) ?? []);
        expect(isBase64Token(t)).toBe(/^[A-Za-z0-9+/]{16,}={0,2}$/.test(t));
        expect(isHexToken(t)).toBe(/^(?:[0-9a-fA-F]{2}){8,}$/.test(t));
        expect(trimToEncoding(t)).toBe(t.replace(/^[^A-Za-z0-9+/=]+|[^A-Za-z0-9+/=]+$/g, ""));
      }),
      { numRuns: 2000, seed: 17 },
    );
  });

  it("read a 10 MB encoded run without overflowing the stack (a regular expression over it throws)", () => {
    const base64 = "QUJD".repeat(2_500_000);
    const hex = "ab12".repeat(2_500_000);
    expect(() => base64.match(/[A-Za-z0-9+/]{16,}={0,2}/g)).toThrow(RangeError);
    for (const text of [base64, hex, `${"aGVsbG8gd29ybGQ_".repeat(600_000)}`]) {
      expect(() => decodeObfuscations(text)).not.toThrow();
      expect(() => new ReadText(text).glued).not.toThrow();
      expect(keepsInformation(text, text)).toBe(true);
    }
  });
});
