// Parses and formats .tf files with HashiCorp's own code (hcl2json wraps the
// HCL parser, hcl-tools wraps hclwrite.Format, which `terraform fmt` uses),
// so make tf-check needs no terraform binary.
//
//   node hcl.mjs FILE...          prints {"FILE": {"body": …, "formatted": bool}} as JSON
//   node hcl.mjs --write FILE...  rewrites each FILE formatted (make tf-fmt)
//
// A file that does not parse is reported as {"error": "…"}; the exit status is
// 0 either way, the caller decides.
import { parse } from "@cdktf/hcl2json";
import { format } from "@cdktf/hcl-tools";
import { readFileSync, writeFileSync } from "node:fs";

const args = process.argv.slice(2);
const write = args[0] === "--write";
const files = write ? args.slice(1) : args;
const report = {};

for (const file of files) {
  const source = readFileSync(file, "utf8");
  try {
    const body = await parse(file, source);
    const formatted = await format(source);
    if (write && formatted !== source) {
      writeFileSync(file, formatted);
    }
    report[file] = { body, formatted: formatted === source };
  } catch (error) {
    report[file] = { error: String(error.message ?? error) };
  }
}

process.stdout.write(JSON.stringify(report));
