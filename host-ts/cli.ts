// The `uffdlab` command.
import { Command } from "commander";
import { demo } from "./demo.js";

const program = new Command();
program.name("uffdlab").description("A WebAssembly-hosted Linux mm mini-kernel: page faults, userfaultfd, guest_memfd");
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
await program.parseAsync();
