// Zoo: "EAGAIN while an event is unread", fixed: on EAGAIN the handler reads the pending event
// first, then retries (see eagain-retry-spin.mjs).
import { eagainScenario } from "./eagain-retry-spin.mjs";

export default eagainScenario({ readOnEagain: true });
