import { type ChildProcess, spawn } from "node:child_process";
import type { HookScope } from "../types.ts";
import type { SandboxBundle } from "./bundle.ts";
import type { FromSandbox, SandboxScope, ToSandbox } from "./protocol.ts";

export type Created = Extract<FromSandbox, { kind: "created" }>;

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly timer: ReturnType<typeof setTimeout>;
  readonly scope?: HookScope;
}

/** How long a sandboxed process may take to start and load its module. */
const START_TIMEOUT_MS = 20_000;

/**
 * One module layer's process, seen from the benchmark: hook calls go out as messages and verdicts come back. A call
 * not answered by its deadline stops the process (a synchronous loop cannot be interrupted any other way): that
 * call and any other in flight fail, and the next call starts a fresh process with the same layers in it.
 */
export class SandboxedModule {
  private child: ChildProcess | null = null;
  private starting: Promise<ChildProcess> | null = null;
  private readonly pending = new Map<number, Pending>();
  private readonly instances: { readonly instance: number; readonly params: unknown }[] = [];
  private callSeq = 0;

  constructor(
    readonly bundle: SandboxBundle,
    readonly timeoutMs: number,
  ) {}

  /** A layer built by the module's factory with these params, in the sandbox. */
  async create(params: unknown): Promise<{ instance: number; created: Created }> {
    const instance = this.instances.length;
    const created = (await this.request((call) => ({ kind: "create", call, instance, params }))) as Created;
    this.instances.push({ instance, params });
    return { instance, created };
  }

  /** One hook call (`systemPrompt` and `offersTool` included); its answer is checked by the caller. */
  call(instance: number, hook: string, subject: unknown, scope: HookScope): Promise<unknown> {
    const data: SandboxScope = {
      episodeId: scope.episodeId,
      agent: scope.agent,
      userPrompt: scope.userPrompt,
      user: scope.user,
      system: scope.system,
      tools: scope.tools,
      alerts: scope.alerts(),
      canReplay: scope.replay !== undefined,
    };
    return this.request((call) => ({ kind: "hook", call, instance, hook, subject, scope: data }), scope);
  }

  private async request(message: (call: number) => ToSandbox, scope?: HookScope): Promise<unknown> {
    const child = await this.process();
    const call = this.callSeq++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.stop(`no verdict within ${this.timeoutMs / 1000} s; the layer's process was stopped`);
      }, this.timeoutMs);
      this.pending.set(call, { resolve, reject, timer, scope });
      child.send(message(call), (error) => {
        if (error) this.settle(call, new Error(`the layer's process did not take the call: ${error.message}`));
      });
    });
  }

  private settle(call: number, outcome: Error | { value: unknown }): void {
    const pending = this.pending.get(call);
    if (!pending) return;
    this.pending.delete(call);
    clearTimeout(pending.timer);
    if (outcome instanceof Error) pending.reject(outcome);
    else pending.resolve(outcome.value);
  }

  /** Ends the process and fails every call in flight with `reason`. */
  stop(reason: string): void {
    const child = this.child;
    this.child = null;
    this.starting = null;
    child?.kill("SIGKILL");
    for (const call of [...this.pending.keys()]) this.settle(call, new Error(reason));
  }

  private process(): Promise<ChildProcess> {
    if (this.child) return Promise.resolve(this.child);
    this.starting ??= this.start().then(
      (child) => {
        this.child = child;
        return child;
      },
      (error: Error) => {
        this.starting = null;
        throw error;
      },
    );
    return this.starting;
  }

  private async start(): Promise<ChildProcess> {
    const { file, moduleDir, network } = this.bundle;
    const child = spawn(process.execPath, ["--experimental-permission", `--allow-fs-read=${file}`, `--allow-fs-read=${moduleDir}`, "--no-warnings", file], {
      // The layer's console output goes to stderr, never into the benchmark's own output.
      stdio: ["ignore", 2, 2, "ipc"],
      env: network ? process.env : {},
    });
    const killOnExit = () => child.kill("SIGKILL");
    process.once("exit", killOnExit);
    child.on("message", (message: FromSandbox) => this.receive(child, message));
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`its process did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
      child.once("message", () => {
        clearTimeout(timer);
        resolve();
      });
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`its process exited while loading (${signal ?? `code ${code}`})`));
      });
      child.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    child.on("exit", (code, signal) => {
      process.removeListener("exit", killOnExit);
      if (this.child === child) this.stop(`the layer's process exited (${signal ?? `code ${code}`})`);
    });
    try {
      await ready;
    } catch (error) {
      child.kill("SIGKILL");
      throw error;
    }
    // An idle layer does not keep the benchmark alive; a call in flight does, through its timer.
    child.unref();
    (child.channel as { unref?: () => void } | undefined)?.unref?.();
    for (const { instance, params } of this.instances) {
      await new Promise<void>((resolve, reject) => {
        const call = this.callSeq++;
        const timer = setTimeout(() => reject(new Error("its process did not rebuild the layer")), START_TIMEOUT_MS);
        this.pending.set(call, { resolve: () => resolve(), reject, timer });
        child.send({ kind: "create", call, instance, params } satisfies ToSandbox);
      });
    }
    return child;
  }

  private receive(child: ChildProcess, message: FromSandbox): void {
    switch (message.kind) {
      case "ready":
        return;
      case "created":
        return this.settle(message.call, { value: message });
      case "answer":
        return this.settle(message.call, { value: message.value });
      case "failed":
        return this.settle(message.call, new Error(message.message));
      case "replay": {
        const replay = this.pending.get(message.call)?.scope?.replay;
        const answer = (reply: Omit<Extract<ToSandbox, { kind: "replayed" }>, "kind" | "id">) => {
          if (child.connected) child.send({ kind: "replayed", id: message.id, ...reply } satisfies ToSandbox);
        };
        if (!replay) return answer({ error: "replay is not available here" });
        replay(message.request).then(
          (calls) => answer({ calls }),
          (error: Error) => answer({ error: error.message }),
        );
      }
    }
  }
}
