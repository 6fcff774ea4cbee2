// Shared test helpers: boot a small kernel, errno and signal matchers.
import { expect } from "vitest";
import { Kernel, SystemError, SignalError, type Process, type Build } from "../../host-ts/index.js";
import * as A from "../../host-ts/abi.gen.js";

export { A };
export const PAGE = 4096;
export const RW = A.PROT_READ | A.PROT_WRITE;
export const ANON = A.MAP_PRIVATE | A.MAP_ANONYMOUS;

/** A fresh debug kernel (small memory so tests start fast) and one process. */
export async function boot(opts: { memoryBytes?: number; build?: Build; zeroPage?: boolean } = {}): Promise<{ k: Kernel; p: Process }> {
  const k = await Kernel.boot({ memoryBytes: opts.memoryBytes ?? 32 << 20, build: opts.build ?? "debug", zeroPage: opts.zeroPage });
  return { k, p: k.spawn() };
}

/** Run `fn` and expect a SystemError with errno name `code`. */
export function expectErrno(fn: () => unknown, code: string): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${code}`).toBeInstanceOf(SystemError);
  expect((err as SystemError).code).toBe(code);
}

/** Run `fn` and expect a signal (SIGSEGV or SIGBUS). */
export function expectSignal(fn: () => unknown, name: "SIGSEGV" | "SIGBUS"): SignalError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${name}`).toBeInstanceOf(SignalError);
  expect((err as SignalError).name).toBe(name);
  return err as SignalError;
}

/** The raw result of a system call as an errno name or a value. */
export function rawErrno(r: bigint): string | bigint {
  return r < 0n && r > -4096n ? (A.ERRNO_NAMES[Number(-r)] ?? `E${-r}`) : r;
}
