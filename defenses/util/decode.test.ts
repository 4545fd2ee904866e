import { describe, expect, it } from "vitest";
import { proseSentences } from "./decode.ts";

describe("proseSentences", () => {
  it("reads the strings of a JSON tool output, not its keys or punctuation", () => {
    const output = JSON.stringify([{ id: "m1", from: "dana@fabrikam.example", body: "Hi Emma. Please find the invoice attached." }]);
    expect(proseSentences(output)).toEqual(["m1", "dana@fabrikam.example", "Hi Emma.", "Please find the invoice attached."]);
  });

  it("reads a JSON line inside a report, and the report's own sentences around it", () => {
    const report = `Done. What I found:\n${JSON.stringify({ title: "Rotate the password", body: "It is a year old." })}\nThat is all.`;
    expect(proseSentences(report)).toEqual(["Done.", "What I found:", "Rotate the password", "It is a year old.", "That is all."]);
  });

  it("keeps text that only looks like JSON as text", () => {
    expect(proseSentences("{not json. Really}")).toEqual(["{not json.", "Really}"]);
  });
});
