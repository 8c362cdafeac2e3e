/**
 * The lifecycle module (src/core/tasks/lifecycle.ts) is the only writer of a task's status: no other
 * file of src/ calls the task store's writes (`update`, `insert`, `delete` of TaskStore) — the
 * adapters that implement the store excepted. Calls are found by the type checker, so a store
 * reached under any name (`deps.tasks`, `s.store`, a destructured `update`) is caught.
 */
import { readdirSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import ts from "typescript";
import { expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../..");
const WRITES = new Set(["update", "insert", "delete"]);
/** Who may call them: the lifecycle, and the stores themselves (one may wrap another). */
const allowed = (file: string) => file === "src/core/tasks/lifecycle.ts" || file.startsWith("src/adapters/");

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** Each call of a TaskStore write in `src/`, as `file:line method`. */
function taskStoreWrites(): string[] {
  const { config } = ts.readConfigFile(join(root, "tsconfig.json"), ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, root);
  const program = ts.createProgram(sources(join(root, "src")), { ...options, noEmit: true });
  const checker = program.getTypeChecker();
  const isTaskStoreMethod = (symbol: ts.Symbol | undefined) =>
    (symbol?.declarations ?? []).some((d) => {
      const owner = d.parent;
      return ts.isInterfaceDeclaration(owner) && owner.name.text === "TaskStore";
    });
  const found: string[] = [];
  for (const sf of program.getSourceFiles()) {
    const file = relative(root, sf.fileName);
    if (!file.startsWith("src/")) continue;
    const visit = (node: ts.Node): void => {
      const name =
        ts.isPropertyAccessExpression(node) || ts.isBindingElement(node)
          ? ts.isPropertyAccessExpression(node)
            ? node.name
            : (node.propertyName ?? node.name)
          : undefined;
      if (name && ts.isIdentifier(name) && WRITES.has(name.text)) {
        const symbol = ts.isBindingElement(node)
          ? checker.getPropertyOfType(checker.getTypeAtLocation(node.parent), name.text)
          : checker.getSymbolAtLocation(name);
        if (isTaskStoreMethod(symbol)) {
          const { line } = sf.getLineAndCharacterOfPosition(node.getStart(sf));
          found.push(`${file}:${line + 1} ${name.text}`);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return found;
}

it("only the task lifecycle writes a task's status (through the task store's writes)", () => {
  const writes = taskStoreWrites();
  // The scan sees the lifecycle's own writes: it would pass vacuously if it saw nothing.
  expect(writes.filter((w) => w.startsWith("src/core/tasks/lifecycle.ts")).length).toBeGreaterThanOrEqual(3);
  expect(writes.filter((w) => !allowed(w.split(":")[0] ?? ""))).toEqual([]);
}, 60_000);
