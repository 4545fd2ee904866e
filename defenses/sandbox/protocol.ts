import type { Alert, HookScope } from "../types.ts";

/** What a hook's scope carries into the sandbox: its facts as data; `state` lives there, `replay` calls back. */
export type SandboxScope = Pick<HookScope, "episodeId" | "agent" | "userPrompt" | "user" | "system" | "tools"> & {
  readonly alerts: readonly Alert[];
  readonly canReplay: boolean;
};

/** Messages from the benchmark to a sandboxed layer's process. */
export type ToSandbox =
  | { readonly kind: "create"; readonly call: number; readonly instance: number; readonly params: unknown }
  | { readonly kind: "hook"; readonly call: number; readonly instance: number; readonly hook: string; readonly subject: unknown; readonly scope: SandboxScope }
  | { readonly kind: "replayed"; readonly id: number; readonly calls?: unknown; readonly error?: string };

/** Messages from a sandboxed layer's process. */
export type FromSandbox =
  | { readonly kind: "ready" }
  | {
      readonly kind: "created";
      readonly call: number;
      readonly id: string;
      readonly layer: string;
      readonly version: string;
      readonly description: string;
      readonly params: Record<string, unknown>;
      readonly hooks: readonly string[];
      readonly trainedOn?: readonly string[];
    }
  | { readonly kind: "answer"; readonly call: number; readonly value: unknown }
  | { readonly kind: "failed"; readonly call: number; readonly message: string }
  | { readonly kind: "replay"; readonly call: number; readonly id: number; readonly request: string };
