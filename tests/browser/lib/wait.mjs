import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls probe() every intervalMs until check(value) is true, and returns that value. On timeout it
 * throws with what and the last value seen, so a failure says how far things got.
 */
export async function waitFor(what, probe, check, { timeoutMs = 30_000, intervalMs = 500 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await probe();
    if (check(last)) return last;
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(last)}`);
    }
    await sleep(intervalMs);
  }
}

/** Resolves like promise, or rejects after ms with a message naming what was awaited. */
export async function withTimeout(what, promise, ms) {
  let timer;
  const expired = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}
