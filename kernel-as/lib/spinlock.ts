// A spin lock in linear memory (include/linux/spinlock.h), for the big kernel lock.
// Workers that share one Wasm memory serialise on it; in async mode it is uncontended.
// The host never waits inside the kernel for anything but this lock, and holders never
// block (faults return VM_FAULT_RETRY instead), so spinning is bounded by one entry point.

// @ts-ignore: decorator
@inline export function spin_lock(lock: usize): void {
  if (ASC_FEATURE_THREADS) {
    while (atomic.cmpxchg<i32>(lock, 0, 1) != 0) {
      // Wait for the holder; memory.atomic.wait would park, but the main browser
      // thread cannot wait, and hold times are short, so spin on a plain load.
      while (atomic.load<i32>(lock) != 0) {}
    }
  } else {
    store<i32>(lock, 1);
  }
}

// @ts-ignore: decorator
@inline export function spin_unlock(lock: usize): void {
  if (ASC_FEATURE_THREADS) atomic.store<i32>(lock, 0);
  else store<i32>(lock, 0);
}
