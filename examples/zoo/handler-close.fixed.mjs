// Zoo: "handler death / close", fixed: the handler keeps the userfaultfd open, and serves it,
// until every vCPU has stopped (see handler-close.mjs).
import { handlerCloseScenario } from "./handler-close.mjs";

export default handlerCloseScenario({ waitForVcpus: true });
