// Zoo: "a stale source after REMOVE", fixed: faults in a range REMOVE took away are served with
// UFFDIO_ZEROPAGE (see stale-source-after-remove.mjs).
import { staleSourceScenario } from "./stale-source-after-remove.mjs";

export default staleSourceScenario({ zeroAfterRemove: true });
