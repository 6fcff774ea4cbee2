// The raw system-call path's registers: what a caller's numbers become, checked the way Node
// checks its own arguments (TypeError ERR_INVALID_ARG_TYPE, RangeError ERR_OUT_OF_RANGE).
//
// x86-64 passes the number in rax and six arguments in rdi, rsi, rdx, r10, r8, r9, all 64-bit.
// A register value is any integer in [-2^63, 2^64): a number or a bigint, negative values in
// two's complement. Nothing else is accepted, so no value reaches the kernel rounded or wrapped.
import type { Num } from "./thread.js";

/** TypeError with code ERR_INVALID_ARG_TYPE, as Node throws for a value of the wrong type. */
export class InvalidArgTypeError extends TypeError {
  readonly code = "ERR_INVALID_ARG_TYPE";
  constructor(name: string, expected: string, actual: unknown) {
    super(`The "${name}" argument must be ${expected}. Received ${describe(actual)}`);
  }
  override get name(): string { return "TypeError"; }
}

/** RangeError with code ERR_OUT_OF_RANGE, as Node throws for a number out of range. */
export class OutOfRangeError extends RangeError {
  readonly code = "ERR_OUT_OF_RANGE";
  constructor(name: string, range: string, actual: unknown) {
    super(`The value of "${name}" is out of range. It must be ${range}. Received ${describe(actual)}`);
  }
  override get name(): string { return "RangeError"; }
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "number") return String(v);
  if (typeof v === "string") return `type string ('${v.length > 28 ? v.slice(0, 25) + "..." : v}')`;
  return `type ${typeof v}`;
}

const MIN = -(1n << 63n);
const LIMIT = 1n << 64n;
const RANGE = ">= -(2 ** 63) and < 2 ** 64, an integer";

/**
 * The 64-bit register a value fills (as an unsigned bigint); throws for anything else.
 * `arg` names it in the error: "nr", or the argument's index.
 */
export function toRegister(v: Num, arg: string | number): bigint {
  if (typeof v === "number") {
    if (Number.isInteger(v) && v >= -(2 ** 63) && v < 2 ** 64) return BigInt.asUintN(64, BigInt(v));
    throw new OutOfRangeError(argName(arg), RANGE, v);
  }
  if (typeof v === "bigint") {
    if (v >= MIN && v < LIMIT) return BigInt.asUintN(64, v);
    throw new OutOfRangeError(argName(arg), RANGE, v);
  }
  throw new InvalidArgTypeError(argName(arg), "of type number or bigint", v);
}

const argName = (arg: string | number): string => (typeof arg === "number" ? `args[${arg}]` : arg);

/**
 * The system-call number as the kernel sees it: rax holds the value, and do_syscall_64 takes
 * its low 32 bits as an int (so 2 ** 32 + 39 is getpid, -1 and unknown numbers are ENOSYS).
 */
export function syscallNumber(nr: Num): number {
  if (typeof nr === "number" && (nr | 0) === nr) return nr;
  return Number(BigInt.asIntN(32, toRegister(nr, "nr")));
}
