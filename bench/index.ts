// placeholder until the benchmark module lands in this session
export async function runBenchmarks(_o: { quick: boolean; json?: string }): Promise<void> {
  console.log("bench: not yet");
}
