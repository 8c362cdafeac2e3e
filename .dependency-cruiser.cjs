/**
 * The layering rules of docs/architecture.md, checked by `npm run lint` (dependency-cruiser).
 * http/ → core/ ← adapters/; main/ (and the CLI) wire them; nothing imports in a circle.
 */
module.exports = {
  forbidden: [
    {
      name: "no-cycles",
      severity: "error",
      comment: "A cycle makes load order matter and hides which idea owns which: split the shared part out.",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "core-is-the-centre",
      severity: "error",
      comment: "core/ holds the domain and its ports; it imports no transport, adapter or wiring.",
      from: { path: "^src/core/" },
      to: { path: "^src/(http|adapters|main|cli|web|client)/" },
    },
    {
      name: "http-uses-ports-not-adapters",
      severity: "error",
      comment: "http/ reaches infrastructure only through core's ports, wired by main/.",
      from: { path: "^src/http/" },
      to: { path: "^src/(adapters|main|cli)/" },
    },
    {
      name: "adapters-do-not-serve",
      severity: "error",
      comment: "adapters/ implement core's ports; they know nothing of HTTP routes or the wiring.",
      from: { path: "^src/adapters/" },
      to: { path: "^src/(http|main|cli)/" },
    },
    {
      name: "src-never-imports-tests",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^(test|bench|scripts)/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js"], conditionNames: ["import", "node", "default"] },
  },
};
