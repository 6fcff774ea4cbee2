/**
 * The uffdlab runner (host-ts/conform/uffdlab.ts) for tests written with the typed steps of
 * ./scenario.ts: the same lines as the native oracle, so that
 *
 *   expect((await runUffdlab(steps)).map((r) => r.line)).toEqual(runNative(steps).map((r) => r.line));
 */
import { runUffdlab as runLines, SELF_BASE, SELF_END, SELF_RANGES, STACK_TOP } from '../../host-ts/conform/uffdlab.js';
import { formatStep, parseResult, type Step, type StepResult } from './scenario.js';

export { SELF_BASE, SELF_END, SELF_RANGES, STACK_TOP };

export interface UffdlabRunOptions {
  /** Simulated memory for the kernel (default 64 MiB). */
  memoryBytes?: number;
}

/** Run the steps on a fresh uffdlab kernel (debug build); one result per step, in order. */
export async function runUffdlab(steps: Step[], opts: UffdlabRunOptions = {}): Promise<StepResult[]> {
  return (await runLines(steps.map(formatStep), opts)).map(parseResult);
}
