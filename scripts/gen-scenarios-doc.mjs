// Regenerates the verb tables of docs/scenarios.md from the verb table, host-ts/conform/verbs.ts
// (`npm run docs:scenarios`). tests/conformance/verbs.test.ts fails when the file is out of date.
import { build } from "esbuild";
import { readFileSync, writeFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = await build({
  entryPoints: [join(root, "host-ts/conform/verbs.ts")], bundle: true, write: false, format: "esm", platform: "node",
});
const verbs = await import(`data:text/javascript;base64,${Buffer.from(out.outputFiles[0].text).toString("base64")}`);
const file = join(root, "docs/scenarios.md");
const before = readFileSync(file, "utf8");
const after = verbs.renderScenarioDoc(before);
if (after === before) console.log("docs/scenarios.md: up to date");
else {
  writeFileSync(file, after);
  console.log(`docs/scenarios.md: verb tables regenerated (${verbs.renderedSections(after).join(", ")})`);
}
