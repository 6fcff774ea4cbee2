/**
 * The native oracle (tests/oracle/oracle.c, built and run by host-ts/conform/native.ts) for tests
 * written with the typed steps of ./scenario.ts.
 *
 *   const avail = nativeOracleAvailable();      // { ok: true } | { ok: false, reason }
 *   const results = runNative([{ op: 'munmap', addr: 0x10000, len: 0 }]);   // [{ kind: 'err', errno: 'EINVAL', … }]
 */
import { nativeAvailable, nativeCompilerOutput, runNativeText as runText } from '../../host-ts/conform/native.js';
import { formatStep, parseResult, type Step, type StepResult } from './scenario.js';

/** Whether the oracle can run here; builds it on the first call (the result is cached). */
export const nativeOracleAvailable = nativeAvailable;
/** What cc printed while building the oracle ('' for a clean build); undefined if it is unavailable. */
export const nativeOracleCompilerOutput = nativeCompilerOutput;

/** Raw scenario text (one step per line) → raw result lines; for testing the oracle's own parser. */
export function runNativeText(input: string): string[] {
  return runText(input);
}

/** Run the steps on the host kernel; one result per step, in order. */
export function runNative(steps: Step[]): StepResult[] {
  const lines = steps.map(formatStep);
  const out = runText(lines.length === 0 ? '' : lines.join('\n') + '\n');
  if (out.length !== steps.length) {
    throw new Error(`native oracle printed ${out.length} result lines for ${steps.length} steps:\n${out.join('\n')}`);
  }
  return out.map(parseResult);
}
