// Every host import of the kernel. There are none: the kernel never calls out to the
// host. All communication goes through exported entry points (kernel-as/index.ts) and
// through per-task records in linear memory (kernel-as/abi/kernel.ts describes them).
// Blocking is the host's business: the kernel returns VM_FAULT_RETRY-style status codes
// and the host waits (a Promise, or Atomics.wait in a worker).
export {};
