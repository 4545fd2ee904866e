import cliProgress from "cli-progress";

export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

/**
 * A bar with rate and time left on a terminal; otherwise a plain line every ~10% or 10 s. Rate and time left count
 * only this session's work (a resumed run starts with its finished episodes), and no time is guessed before
 * {@link ESTIMATE_AFTER_S} seconds of it: the first campaigns carry the start-up cost.
 */
export function createProgress(label: string, stream: NodeJS.WriteStream = process.stderr, unit = "episodes", now: () => number = Date.now): Progress {
  let first: { readonly done: number; readonly at: number } | null = null;
  const pace = (done: number, total: number) => {
    first ??= { done, at: now() };
    const seconds = (now() - first.at) / 1000;
    const rate = (done - first.done) / Math.max(seconds, 1e-3);
    return { rate: seconds > 0 ? rate : 0, left: seconds >= ESTIMATE_AFTER_S && rate > 0 ? `~${Math.round((total - done) / rate)}s left` : "estimating time left" };
  };
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {value}/{total} ${unit} · {rate}/s · {left}`, stream, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    let running = false;
    return {
      update(done, total) {
        const { rate, left } = pace(done, total);
        if (!running) {
          bar.start(total, done, { rate: "0", left });
          running = true;
        }
        bar.update(done, { rate: rate.toFixed(1), left });
      },
      stop: () => running && bar.stop(),
    };
  }
  let lastShare = -1;
  let lastTime = 0;
  return {
    update(done, total) {
      const share = Math.floor((done / total) * 10);
      const { rate, left } = pace(done, total);
      if (share === lastShare && now() - lastTime < 10_000 && done !== total) return;
      lastShare = share;
      lastTime = now();
      stream.write(`${label}: ${done}/${total} ${unit}, ${rate.toFixed(1)}/s, ${left}\n`);
    },
    stop() {},
  };
}

/** Seconds of work before a time left is estimated. */
export const ESTIMATE_AFTER_S = 5;
