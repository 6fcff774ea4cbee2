// Alignment and bit helpers (include/linux/align.h, mm.h PAGE_ALIGN).
import { PAGE_SIZE, PAGE_SHIFT } from "../abi/uapi";

export const PAGE_MASK: u64 = ~(<u64>PAGE_SIZE - 1);

// @ts-ignore: decorator
@inline export function PAGE_ALIGN(x: u64): u64 { return (x + <u64>PAGE_SIZE - 1) & PAGE_MASK; }
// @ts-ignore: decorator
@inline export function offset_in_page(x: u64): u64 { return x & (<u64>PAGE_SIZE - 1); }
// @ts-ignore: decorator
@inline export function PAGE_ALIGNED(x: u64): bool { return (x & (<u64>PAGE_SIZE - 1)) == 0; }
// @ts-ignore: decorator
@inline export function pfn_of(x: u64): u64 { return x >> <u64>PAGE_SHIFT; }
// @ts-ignore: decorator
@inline export function min64(a: u64, b: u64): u64 { return a < b ? a : b; }
// @ts-ignore: decorator
@inline export function max64(a: u64, b: u64): u64 { return a > b ? a : b; }
