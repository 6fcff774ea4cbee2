// Worker-thread entry (Node; bundled as dist/worker.js): workerMain (run.ts) with Node's
// workerData and parentPort. The script is a path or a file: URL.
import { parentPort, workerData } from "node:worker_threads";
import { pathToFileURL } from "node:url";
import { workerMain, type WorkerInit } from "./run.js";

void workerMain(workerData as WorkerInit,
  (script) => import(script.startsWith("file:") ? script : pathToFileURL(script).href),
  (m) => parentPort!.postMessage(m));
