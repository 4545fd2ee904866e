import { afterEach, describe, expect, it } from "vitest";
import { useRandomPool } from "./random-pool.ts";

const prototypeMethod = Object.getPrototypeOf(globalThis.crypto).getRandomValues as Crypto["getRandomValues"];
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const bytes = (length: number) => new Uint8Array(new ArrayBuffer(length));

describe("the random pool behind crypto.getRandomValues", () => {
  const releases: (() => void)[] = [];
  const use = () => {
    const release = useRandomPool();
    releases.push(release);
    return release;
  };
  afterEach(() => releases.splice(0).forEach((release) => release()));

  it("fills each 16-byte id buffer with bytes never handed out before, across many refills of the pool", () => {
    use();
    const seen = new Set<string>();
    const buffer = bytes(16);
    for (let i = 0; i < 20_000; i++) {
      expect(crypto.getRandomValues(buffer)).toBe(buffer);
      seen.add(hex(buffer));
    }
    expect(seen.size).toBe(20_000);
  });

  it("serves bytes spread evenly over 0–255, buffers of odd sizes included", () => {
    use();
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 40_000; i++) for (const byte of crypto.getRandomValues(bytes(1 + (i % 31)))) counts[byte]! += 1;
    const total = counts.reduce((a, b) => a + b, 0);
    // ±25% of the mean is more than 15 standard deviations at 2,500 draws per value: a real bias, not chance.
    for (const count of counts) expect(Math.abs(count - total / 256)).toBeLessThan((0.25 * total) / 256);
  });

  it("hands other arrays and large sizes to Web Crypto, with its checks", () => {
    use();
    expect(crypto.getRandomValues(new Uint32Array(8)).some((v) => v !== 0)).toBe(true);
    expect(crypto.getRandomValues(bytes(4096)).some((v) => v !== 0)).toBe(true);
    expect(() => crypto.getRandomValues(bytes(65_537))).toThrow(/exceeds/);
    expect(() => crypto.getRandomValues(new Float64Array(2) as unknown as Uint8Array<ArrayBuffer>)).toThrow();
  });

  it("stays installed until its last user releases it, then Web Crypto's own method is back", () => {
    const first = use();
    const second = use();
    expect(crypto.getRandomValues).not.toBe(prototypeMethod);
    first();
    first();
    expect(crypto.getRandomValues).not.toBe(prototypeMethod);
    second();
    expect(crypto.getRandomValues).toBe(prototypeMethod);
    expect(Object.hasOwn(globalThis.crypto, "getRandomValues")).toBe(false);
  });
});
