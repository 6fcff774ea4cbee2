// Zoo: "EEXIST without a wake", fixed: the fault handler wakes the page when its COPY meets EEXIST
// (see eexist-without-wake.mjs).
import { eexistScenario } from "./eexist-without-wake.mjs";

export default eexistScenario({ wakeOnEexist: true });
