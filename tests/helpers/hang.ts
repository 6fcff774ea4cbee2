/**
 * Hang guards for tests that wait on other threads: a wait that never ends fails the test with
 * what it waited for, instead of hanging it. Never a timing assertion: HANG_MS only bounds a hang.
 */
export const HANG_MS = 30_000;

/** `p`, or a rejection naming `what` after HANG_MS. */
export async function within<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const guard = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`hang: ${what}`)), HANG_MS); });
  try {
    return await Promise.race([p, guard]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolve once `cond()` holds; reject if `run` settles first, or after HANG_MS. */
export async function until(cond: () => boolean, what: string, run?: Promise<unknown>): Promise<void> {
  let settled: unknown = null;
  run?.then((v) => { settled = { value: v }; }, (e: unknown) => { settled = { error: e }; });
  const deadline = Date.now() + HANG_MS;
  while (!cond()) {
    if (settled) throw new Error(`${what}: the worker ended first: ${String((settled as { error?: unknown }).error ?? "resolved")}`);
    if (Date.now() > deadline) throw new Error(`hang: ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}
