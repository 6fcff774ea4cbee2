// TypeDoc (`npm run docs`): the API reference of uffdlab's public surface, host-ts/index.ts,
// into build/api/. scripts/docs-check.mjs (`npm run docs:check`, run by `npm test`)
// runs the same configuration and fails on any public item without a TSDoc comment.
/** @type {Partial<import("typedoc").TypeDocOptions>} */
export default {
  entryPoints: ["host-ts/index.ts"],
  tsconfig: "tsconfig.types.json",
  // build/ is git-ignored and not packed (package.json "files" takes only build/*.wasm from it).
  out: "build/api",
  name: "uffdlab",
  readme: "none",
  excludePrivate: true,
  excludeProtected: true,
  excludeInternal: true,
  excludeExternals: true,
  // No "defined in" links: they need a git remote to point at, and a checkout's origin (a local
  // path in CI's fresh clone) is none TypeDoc accepts.
  disableSources: true,
  // notDocumented is on in scripts/docs-check.mjs, which knows which warnings to expect (abi.*).
  validation: { notExported: true, invalidLink: true, notDocumented: false },
};
