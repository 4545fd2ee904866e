import cliProgress from "cli-progress";

export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

/** A bar with rate and time left on a terminal; otherwise a plain line every ~10% or 10 s. */
export function createProgress(label: string, stream: NodeJS.WriteStream = process.stderr, unit = "episodes"): Progress {
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {value}/{total} ${unit} · {rate}/s · ETA {eta_formatted}`, stream, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    const started = Date.now();
    let running = false;
    return {
      update(done, total) {
        if (!running) {
          bar.start(total, 0, { rate: "0" });
          running = true;
        }
        bar.update(done, { rate: (done / Math.max((Date.now() - started) / 1000, 1e-3)).toFixed(1) });
      },
      stop: () => running && bar.stop(),
    };
  }
  const started = Date.now();
  let lastShare = -1;
  let lastTime = 0;
  return {
    update(done, total) {
      const share = Math.floor((done / total) * 10);
      const now = Date.now();
      if (share === lastShare && now - lastTime < 10_000 && done !== total) return;
      lastShare = share;
      lastTime = now;
      const seconds = (now - started) / 1000;
      const rate = done / Math.max(seconds, 1e-3);
      const left = rate > 0 ? Math.round((total - done) / rate) : 0;
      stream.write(`${label}: ${done}/${total} ${unit}, ${rate.toFixed(1)}/s, ~${left}s left\n`);
    },
    stop() {},
  };
}
