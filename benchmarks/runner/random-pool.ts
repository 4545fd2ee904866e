import { randomFillSync } from "node:crypto";

/**
 * Serves `crypto.getRandomValues` for small byte arrays from a pool that `randomFillSync` refills, as Node's own
 * `crypto.randomUUID` does. LangGraph and LangSmith draw 16 random bytes for every id — a run tree for each
 * runnable call, a checkpoint for each step, about 56 per single-agent episode — and each draw is a `getrandom`
 * system call (6 µs on the 2-core reference machine): a third of a plain run's time. The bytes come from the same
 * CSPRNG and each is handed out once; other arrays, and sizes above {@link MAX_POOLED_BYTES}, go to the original.
 */
const POOL_BYTES = 8192;
const MAX_POOLED_BYTES = 256;

const pool = new Uint8Array(POOL_BYTES);
let offset = POOL_BYTES;
let users = 0;
const webCrypto = globalThis.crypto;
const original = webCrypto.getRandomValues;

function pooledRandomValues<T extends ArrayBufferView<ArrayBuffer>>(array: T): T {
  if (!(array instanceof Uint8Array) || array.byteLength > MAX_POOLED_BYTES) return original.call(webCrypto, array) as T;
  const end = offset + array.byteLength;
  if (end > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
    return pooledRandomValues(array);
  }
  array.set(pool.subarray(offset, end));
  offset = end;
  return array;
}

/**
 * Installs the pool in this thread until the returned release is called; counted, so nested users in one thread
 * (in-process runs, tests) leave it installed until the last one releases it.
 */
export function useRandomPool(): () => void {
  if (users++ === 0) webCrypto.getRandomValues = pooledRandomValues as typeof webCrypto.getRandomValues;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    // The prototype's method shows through again once our own property is gone.
    if (--users === 0) delete (webCrypto as { getRandomValues?: unknown }).getRandomValues;
  };
}
