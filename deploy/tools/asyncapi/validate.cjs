// Parse an AsyncAPI document with the official parser (@asyncapi/parser) and print what it found as
// one JSON object: {"parsed", "version", "channels", "messages", "diagnostics": [{severity, code,
// message, path}]} (severity 0 is an error). Used by the tests on schemas/asyncapi.json.
//
//   node deploy/tools/asyncapi/validate.cjs <parser install dir> <document>
//
// The parser is installed by deploy/tools/install.sh (npm ci of this directory's package-lock.json).
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { createRequire } = require("node:module");

async function main() {
  const [installDir, file] = process.argv.slice(2);
  const { Parser } = createRequire(path.join(installDir, "package.json"))("@asyncapi/parser");
  const { document, diagnostics } = await new Parser().parse(fs.readFileSync(file, "utf8"), { source: file });
  const result = {
    parsed: document !== undefined,
    version: document ? document.version() : null,
    channels: document ? document.channels().all().map((c) => c.address()) : [],
    messages: document ? document.allMessages().all().map((m) => m.id()) : [],
    diagnostics: diagnostics.map((d) => ({
      severity: d.severity,
      code: String(d.code),
      message: d.message,
      path: d.path.join("."),
    })),
  };
  process.stdout.write(JSON.stringify(result) + "\n");
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(2);
});
