// Assertions at the site (include/linux/mmdebug.h VM_BUG_ON, VM_WARN_ON): the debug build
// (CONFIG_DEBUG_VM=1, asconfig.json's "debug" target) traps when the condition holds — the
// host turns the trap into KernelPanic with the panic record (ARCHITECTURE.md "Locking") —
// and the release build compiles the check, condition included, out. The condition must have
// no side effects.

/** VM_BUG_ON: `cond` is a kernel bug. */
// @ts-ignore: decorator
@inline export function VM_BUG_ON(cond: bool): void {
  if (CONFIG_DEBUG_VM) {
    if (cond) unreachable();
  }
}
