// ESLint parser for the AssemblyScript kernel: typescript-eslint's parser on the source with the
// decorators TypeScript does not allow where AssemblyScript puts them (`@inline` on functions and
// constants, `@global`, `@lazy`, `@external(...)`) blanked out character for character, so every
// line and column ESLint reports is the file's own. Class decorators (`@unmanaged`, `@final`) are
// valid TypeScript and stay.
import { parseForESLint as parseTs } from "@typescript-eslint/parser";

const FUNCTION_DECORATOR = /@(inline|global|lazy|operator(\.\w+)?|external\([^)\n]*\))(?=\s)/g;

export function parseForESLint(code, options) {
  return parseTs(code.replace(FUNCTION_DECORATOR, (m) => " ".repeat(m.length)), options);
}

export const meta = { name: "uffdlab-assemblyscript-parser" };
