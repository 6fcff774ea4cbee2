// ESLint (flat config) for the whole tree: the TypeScript host, tests, bench and playground, and the
// AssemblyScript kernel (parsed as TypeScript; its decorators and intrinsics are AssemblyScript's).
// `npm run lint`; `npm test` runs it too (tests/unit/lint.test.ts).
import tseslint from "typescript-eslint";
import * as assemblyscriptParser from "./scripts/lint/assemblyscript-parser.mjs";

const unused = ["error", { args: "after-used", argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none", ignoreRestSiblings: true }];

export default tseslint.config(
  { ignores: ["node_modules/", "dist/", "build/", "docs/api/", "host-ts/abi.gen.ts", "**/*.d.ts"] },
  {
    files: ["**/*.ts", "**/*.mjs", "**/*.js"],
    extends: [tseslint.configs.recommended],
    rules: {
      "@typescript-eslint/no-unused-vars": unused,
      "@typescript-eslint/no-explicit-any": "error",
      "prefer-const": "error",
      "no-var": "error",
    },
  },
  {
    // AssemblyScript: `@inline` / `@unmanaged` decorators sit behind `// @ts-ignore: decorator`,
    // `<u32>x` casts and `let` are the house style, and `if (ASC_FEATURE_THREADS)` is a
    // compile-time constant.
    files: ["kernel-as/**/*.ts"],
    languageOptions: { parser: assemblyscriptParser },
    rules: {
      "@typescript-eslint/ban-ts-comment": "off",
      "prefer-const": "off",
      "no-constant-condition": "off",
      "@typescript-eslint/no-inferrable-types": "off",
    },
  },
);
