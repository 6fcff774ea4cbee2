// The `uffdlab` command.
import { readFileSync } from "node:fs";
import { Command } from "commander";
import { demo } from "./demo.js";

/** The package's version, from the package.json beside dist/ (the CLI runs as dist/cli.js). */
function version(): string {
  return (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;
}

const program = new Command();
program.name("uffdlab").description("A WebAssembly-hosted Linux mm mini-kernel: page faults, userfaultfd, guest_memfd")
  .version(version(), "-V, --version", "print uffdlab's version");
program.command("demo").description("boot a kernel, map memory, fault it in, fork, and show what happened")
  .option("--trace", "print an strace-like line per system call")
  .action(async (o: { trace?: boolean }) => { await demo({ trace: !!o.trace }); });
program.command("bench").description("microbenchmarks, with the host kernel measured in the same run")
  .option("--quick", "fewer iterations (for npm start)")
  .option("--json <file>", "also write the results as JSON")
  .action(async (o: { quick?: boolean; json?: string }) => {
    const { runBenchmarks } = await import("../bench/index.js");
    await runBenchmarks({ quick: !!o.quick, json: o.json });
  });
program.command("conform").description("run scenario files (docs/scenarios.md) on the host kernel and on uffdlab; compare step by step")
  .argument("<files...>", "scenario files or directories of them (*.json)")
  .option("--known <file>", "known-differences file (default: the one shipped with uffdlab)")
  .option("--no-known", "use no known-differences file")
  .option("--no-host", "do not run the host kernel (check uffdlab against the scenarios' expect lines only)")
  .option("-v, --verbose", "print every step with both kernels' lines")
  .action(async (files: string[], o: { known?: string | boolean; host?: boolean; verbose?: boolean }) => {
    const { conform } = await import("./conform/run.js");
    process.exitCode = await conform(files, {
      known: o.known === false ? null : typeof o.known === "string" ? o.known : undefined,
      noHost: o.host === false, verbose: !!o.verbose,
    });
  });
await program.parseAsync();
