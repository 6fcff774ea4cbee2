// A spin lock in linear memory (include/linux/spinlock.h), for the big kernel lock.
// Workers that share one Wasm memory serialise on it; in async mode it is uncontended.
// The host never waits inside the kernel for anything but this lock, and holders never
// block (faults return VM_FAULT_RETRY instead), so spinning is bounded by one entry point.
//
// The word holds its holder's id (`val`, nonzero), so a spinner that gives up can say who
// holds it. A holder can still die inside the kernel (a Wasm trap): spinners also watch an
// `abort` word and give up when it becomes nonzero, and in debug builds they give up after
// a bounded number of iterations.

/** A default spin bound: 2^32 iterations, seconds on a current CPU (~6 s on a loaded EPYC). */
export const SPIN_LIMIT: u64 = 1 << 32;

/**
 * Take `lock`, storing `val` (nonzero) in it. 0 once taken; -1 when the word at `abort`
 * became nonzero first; in debug builds, after as many iterations as the u64 at `limit`
 * says (0: no bound), the lock word seen last (its holder). Nothing is taken unless 0 is
 * returned.
 */
// @ts-ignore: decorator
@inline export function spin_lock(lock: usize, val: i32, abort: usize, limit: usize): i32 {
  if (ASC_FEATURE_THREADS) {
    if (atomic.cmpxchg<i32>(lock, 0, val) == 0) return 0;
    return spin_lock_slow(lock, val, abort, limit);
  }
  store<i32>(lock, val);
  return 0;
}

function spin_lock_slow(lock: usize, val: i32, abort: usize, limit: usize): i32 {
  let n: u64 = 0;
  let max: u64 = CONFIG_DEBUG_VM ? load<u64>(limit) - 1 : 0;
  do {
    // Wait for the holder; memory.atomic.wait would park, but the main browser thread
    // cannot wait, and hold times are short, so spin on a plain load.
    let w = atomic.load<i32>(lock);
    while (w != 0) {
      if (atomic.load<i32>(abort) != 0) return -1;
      if (CONFIG_DEBUG_VM && n++ == max) return w;
      w = atomic.load<i32>(lock);
    }
  } while (atomic.cmpxchg<i32>(lock, 0, val) != 0);
  return 0;
}

// @ts-ignore: decorator
@inline export function spin_unlock(lock: usize): void {
  if (ASC_FEATURE_THREADS) atomic.store<i32>(lock, 0);
  else store<i32>(lock, 0);
}

/** The lock word: 0 when free, else the value its holder stored. */
export function spin_lock_holder(lock: usize): i32 {
  if (ASC_FEATURE_THREADS) return atomic.load<i32>(lock);
  return load<i32>(lock);
}
