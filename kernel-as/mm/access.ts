// Simulated-thread memory access: loads, stores and block copies at user virtual
// addresses, each one call from the host. A load or store that spans two pages faults both
// in before touching either, like one x86 instruction; block copies may stop part-way.
import { task_frame, task_bounce } from "../kernel/sched";
import { task_enter } from "../kernel/entry";
import { task_struct } from "../kernel/types";
import { translate } from "./uaccess";
import { ACCESS_OK, ACCESS_EINVAL, ACCESS_ESRCH, BOUNCE_SIZE } from "../abi/kernel";
import { PAGE_SIZE } from "../abi/uapi";

/** The address as u64; NaN, negative or fractional input maps to an address that faults. */
// @ts-ignore: decorator
@inline function to_u64(addr: f64): u64 {
  if (!(addr >= 0) || addr >= 1.8446744073709552e19) return <u64>-1;
  return <u64>addr;
}

function load_bytes(t: task_struct, a: u64, size: i32): i64 {
  let end = a + <u64>size - 1;
  if ((a >> 12) == (end >> 12)) {
    let pa = translate(t, a, false, true);
    if (pa < 0) return pa;
    let f = task_frame(t);
    switch (size) {
      case 1: return <i64>load<u8>(<usize>pa);
      case 2: return <i64>load<u16>(<usize>pa);
      case 4: return <i64>load<u32>(<usize>pa);
      default: f.value = load<u64>(<usize>pa); return 0;
    }
  }
  // Page-crossing: fault both pages in, then gather the bytes.
  let pa1 = translate(t, a, false, true);
  if (pa1 < 0) return pa1;
  let pa2 = translate(t, end & ~(<u64>PAGE_SIZE - 1), false, true);
  if (pa2 < 0) return pa2;
  let v: u64 = 0;
  for (let i = 0; i < size; i++) {
    let at = a + <u64>i;
    let b: u8 = (at >> 12) == (a >> 12)
      ? load<u8>(<usize>pa1 + <usize>i)
      : load<u8>(<usize>pa2 + <usize>(at & (PAGE_SIZE - 1)));
    v |= <u64>b << (8 * <u64>i);
  }
  if (size == 8) {
    task_frame(t).value = v;
    return 0;
  }
  return <i64>v;
}

export function user_load(h: f64, addr: f64, size: i32): f64 {
  let t = task_enter(h);
  if (!t) return <f64>ACCESS_ESRCH;
  if (t.mm == 0 || (size != 1 && size != 2 && size != 4 && size != 8)) return <f64>ACCESS_EINVAL;
  return <f64>load_bytes(t, to_u64(addr), size);
}

export function user_store(h: f64, addr: f64, size: i32, value: f64): i32 {
  let t = task_enter(h);
  if (!t) return ACCESS_ESRCH;
  if (t.mm == 0 || (size != 1 && size != 2 && size != 4 && size != 8)) return ACCESS_EINVAL;
  let a = to_u64(addr);
  let v: u64 = size == 8 ? task_frame(t).value : <u64>value;
  let end = a + <u64>size - 1;
  let pa1 = translate(t, a, true, true);
  if (pa1 < 0) return <i32>pa1;
  if ((a >> 12) == (end >> 12)) {
    switch (size) {
      case 1: store<u8>(<usize>pa1, <u8>v); break;
      case 2: store<u16>(<usize>pa1, <u16>v); break;
      case 4: store<u32>(<usize>pa1, <u32>v); break;
      default: store<u64>(<usize>pa1, v);
    }
    return ACCESS_OK;
  }
  let pa2 = translate(t, end & ~(<u64>PAGE_SIZE - 1), true, true);
  if (pa2 < 0) return <i32>pa2;
  for (let i = 0; i < size; i++) {
    let at = a + <u64>i;
    let b = <u8>(v >> (8 * <u64>i));
    if ((at >> 12) == (a >> 12)) store<u8>(<usize>pa1 + <usize>i, b);
    else store<u8>(<usize>pa2 + <usize>(at & (PAGE_SIZE - 1)), b);
  }
  return ACCESS_OK;
}

/** Copy between user memory and the bounce page, page by page. */
function user_copy(h: f64, addr: f64, len: i32, write: bool): i32 {
  let t = task_enter(h);
  if (!t) return ACCESS_ESRCH;
  if (t.mm == 0 || len < 0 || len > BOUNCE_SIZE) return ACCESS_EINVAL;
  let a = to_u64(addr);
  let b = task_bounce(t);
  let done: i32 = 0;
  while (done < len) {
    let at = a + <u64>done;
    let n = PAGE_SIZE - <i32>(at & (PAGE_SIZE - 1));
    if (n > len - done) n = len - done;
    let pa = translate(t, at, write, true);
    if (pa < 0) return <i32>pa;
    if (write) memory.copy(<usize>pa, b + <usize>done, <usize>n);
    else memory.copy(b + <usize>done, <usize>pa, <usize>n);
    done += n;
  }
  return done;
}

export function user_read(h: f64, addr: f64, len: i32): i32 { return user_copy(h, addr, len, false); }
export function user_write(h: f64, addr: f64, len: i32): i32 { return user_copy(h, addr, len, true); }

export function user_translate(h: f64, addr: f64, write: bool): f64 {
  let t = task_enter(h);
  if (!t) return <f64>ACCESS_ESRCH;
  if (t.mm == 0) return <f64>ACCESS_EINVAL;
  let r = translate(t, to_u64(addr), write, true);
  return <f64>r;
}
