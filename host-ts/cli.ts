// The `uffdlab` command.
import { readFileSync } from "node:fs";
import { Command } from "commander";
import { demo } from "./demo.js";
import { DEFAULT_PORT } from "./serve.js";

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
program.command("serve").description("serve the playground on 127.0.0.1 (cross-origin isolated) and print its URL")
  .option("--port <n>", "port to listen on (0: any free port)", String(DEFAULT_PORT))
  .option("--open", "open the default browser on the playground")
  .action(async (o: { port: string; open?: boolean }) => {
    const { serve } = await import("./serve.js");
    if (!/^\d+$/.test(o.port)) program.error(`error: --port must be a number in [0, 65535], got ${JSON.stringify(o.port)}`);
    try {
      await serve({ port: Number(o.port), open: !!o.open });
    } catch (e) {
      program.error(`error: ${(e as Error).message}`);
    }
  });
program.command("explore").description("run a userfaultfd scenario's threads under many schedules; report the first that hangs, livelocks, throws or breaks an invariant")
  .argument("<file>", "an ES module whose default export is defineExploration({ setup, threads, check? })")
  .option("--runs <n>", "runs to try (default 1000)")
  .option("--seconds <s>", "explore for this long instead")
  .option("--seed <s>", "the first run's seed (default 1)")
  .option("--strategy <name>", "random or pct (default random)")
  .option("--depth <d>", "PCT's depth (default 3)")
  .option("--replay <seed>", "run one seed again, with --strategy")
  .option("--schedule <list>", "replay a schedule: comma-separated thread indices")
  .option("--json <file>", "also write the report as JSON")
  .action(async (file: string, o: Record<string, string | undefined>) => {
    // The package entry the scenario imports, so its classes and the explorer's are the same.
    const lib = await import("uffdlab");
    const { exploreCommand } = await import("./explore/command.js");
    process.exitCode = await exploreCommand(lib as unknown as Parameters<typeof exploreCommand>[0], file, o);
  });
await program.parseAsync();
