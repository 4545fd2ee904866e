import { AIMessage } from "@langchain/core/messages";
import { expect, it } from "vitest";
import { createOpenAIModel } from "./openai.ts";
import { emptyRequestStats } from "./resilient-fetch.ts";

it("LangChain's install advice on malformed tool calls is not printed; every other warning is", () => {
  const printed: unknown[][] = [];
  const original = console.warn;
  console.warn = (...args: unknown[]) => void printed.push(args);
  try {
    createOpenAIModel("gpt-4o", { baseURL: "http://127.0.0.1:9/v1" }, emptyRequestStats());
    // What @langchain/openai builds when every tool call a server sent is malformed.
    const message = new AIMessage({ content: "", tool_calls: [], additional_kwargs: { tool_calls: [{ id: "c1", type: "function", function: { name: "send_email", arguments: "{not json" } }] } });
    console.warn("a warning of our own");
    expect(message.tool_calls).toEqual([]);
    expect(printed).toEqual([["a warning of our own"]]);
  } finally {
    console.warn = original;
  }
});
