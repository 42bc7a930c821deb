#!/usr/bin/env python3
"""Offline checks of terraform/ that `terraform validate` and `fmt -check`
would do, with HashiCorp's parser and formatter (hcl.mjs) instead of a
terraform binary: every .tf file parses and is formatted; every variable has
a type and a description; every module has its files and a README naming its
inputs and outputs, and is used; every module call passes only inputs the
module declares and every required one; every var./local./module./resource
reference resolves; roots pin their provider; example tfvars set only
declared variables and every required one; every checkov skip carries a
written reason. Prints each problem, exits 1 if
there is any.

    check_terraform.py TERRAFORM_DIR [--write-docs]

--write-docs rewrites each module README's inputs/outputs tables first.
"""

import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MODULE_FILES = ["main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"]
# `#checkov:skip=CKV_X_N:reason`; checkov accepts it without the reason.
CHECKOV_SKIP = re.compile(r"checkov:skip=([A-Z0-9_]+)(?::(.*))?")
MODULE_META_ARGS = {"source", "version", "providers", "count", "for_each", "depends_on"}
# References in expressions; `each.`, `count.`, `self.`, `path.` and block
# iterators (dynamic "x" → x.value) need no declaration.
REF = re.compile(r"(?<![\w.])(var|local|module|data)\.([A-Za-z_][\w-]*)(?:\.([A-Za-z_][\w-]*))?")
RESOURCE_REF = re.compile(r"(?<![\w.])(google(?:_[a-z0-9]+)+)\.([a-z_][\w-]*)")


def parse_files(paths):
    """{path: {"body": …, "formatted": bool} | {"error": …}} from hcl.mjs."""
    out = subprocess.run(["node", os.path.join(HERE, "hcl.mjs"), *paths], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def strings(value):
    """Every string inside a parsed HCL value (expressions are strings)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


class Dir:
    """The blocks of one directory of .tf files (one Terraform module)."""

    def __init__(self, path, bodies):
        self.path = path
        self.variables, self.outputs, self.modules, self.locals = {}, {}, {}, {}
        self.resources, self.data, self.terraform = set(), set(), []
        self.bodies = bodies
        for body in bodies:
            for name, blocks in body.get("variable", {}).items():
                self.variables[name] = blocks[0]
            for name, blocks in body.get("output", {}).items():
                self.outputs[name] = blocks[0]
            for name, blocks in body.get("module", {}).items():
                self.modules[name] = blocks[0]
            for block in body.get("locals", []):
                self.locals.update(block)
            for rtype, named in body.get("resource", {}).items():
                self.resources.update(f"{rtype}.{n}" for n in named)
            for dtype, named in body.get("data", {}).items():
                self.data.update(f"{dtype}.{n}" for n in named)
            self.terraform.extend(body.get("terraform", []))


def check(root, write_docs=False):
    problems = []
    tf_files = sorted(
        os.path.join(d, f)
        for d, dirs, files in os.walk(root)
        if ".terraform" not in d.split(os.sep)
        for f in files
        if f.endswith(".tf")
    )
    if not tf_files:
        return [f"{root}: no .tf files"]
    parsed = parse_files(tf_files)

    for path in tf_files:
        for line_no, line in enumerate(open(path, encoding="utf-8"), 1):
            for check_id, reason in CHECKOV_SKIP.findall(line):
                if len(reason.strip()) < 20:
                    problems.append(f"{path}:{line_no}: checkov skip {check_id} has no written reason")

    by_dir = {}
    for path in tf_files:
        result = parsed[path]
        if "error" in result:
            problems.append(f"{path}: does not parse: {result['error']}")
            continue
        if not result["formatted"]:
            problems.append(f"{path}: not formatted (make tf-fmt)")
        by_dir.setdefault(os.path.dirname(path), []).append(result["body"])
    dirs = {path: Dir(path, bodies) for path, bodies in by_dir.items()}

    for d in dirs.values():
        problems += check_dir(d, dirs)

    modules_dir = os.path.join(root, "modules")
    used = {
        os.path.normpath(os.path.join(d.path, call["source"]))
        for d in dirs.values()
        for call in d.modules.values()
    }
    for name in sorted(os.listdir(modules_dir)) if os.path.isdir(modules_dir) else []:
        path = os.path.join(modules_dir, name)
        for f in MODULE_FILES:
            if not os.path.isfile(os.path.join(path, f)):
                problems.append(f"{path}: {f} is missing")
        if os.path.normpath(path) not in used:
            problems.append(f"{path}: no module block uses it")
        if path in dirs:
            problems += check_readme(dirs[path], write_docs)

    roots = [d for p, d in dirs.items() if not os.path.normpath(p).startswith(os.path.normpath(modules_dir) + os.sep)]
    for d in roots:
        problems += check_root(d)
    return problems


def check_dir(d, dirs):
    problems = []
    for name, var in d.variables.items():
        for key in ("type", "description"):
            if key not in var:
                problems.append(f"{d.path}: variable {name} has no {key}")
        if "description" in var and not str(var["description"]).strip():
            problems.append(f"{d.path}: variable {name} has an empty description")
    for name, out in d.outputs.items():
        if not str(out.get("description", "")).strip():
            problems.append(f"{d.path}: output {name} has no description")

    for name, call in d.modules.items():
        source = os.path.normpath(os.path.join(d.path, call.get("source", "")))
        target = dirs.get(source) or dirs.get(next((p for p in dirs if os.path.normpath(p) == source), None))
        if target is None:
            problems.append(f"{d.path}: module {name}: source {call.get('source')} is not a module here")
            continue
        for arg in call:
            if arg not in MODULE_META_ARGS and arg not in target.variables:
                problems.append(f"{d.path}: module {name} passes {arg}, which {target.path} does not declare")
        for var, decl in target.variables.items():
            if "default" not in decl and var not in call:
                problems.append(f"{d.path}: module {name} does not pass required input {var}")

    for text in strings(d.bodies):
        for kind, first, second in REF.findall(text):
            if kind == "var" and first not in d.variables:
                problems.append(f"{d.path}: var.{first} is not declared")
            elif kind == "local" and first not in d.locals:
                problems.append(f"{d.path}: local.{first} is not declared")
            elif kind == "data" and f"{first}.{second}" not in d.data:
                problems.append(f"{d.path}: data.{first}.{second} is not declared")
            elif kind == "module":
                call = d.modules.get(first)
                if call is None:
                    problems.append(f"{d.path}: module.{first} is not declared")
                elif second:
                    source = os.path.normpath(os.path.join(d.path, call.get("source", "")))
                    target = next((t for p, t in dirs.items() if os.path.normpath(p) == source), None)
                    if target is not None and second not in target.outputs:
                        problems.append(f"{d.path}: module.{first}.{second}: {target.path} has no such output")
        if "${" in text:
            for rtype, rname in RESOURCE_REF.findall(text):
                if f"{rtype}.{rname}" not in d.resources:
                    problems.append(f"{d.path}: {rtype}.{rname} is not declared")
    return sorted(set(problems))


DOCS_BEGIN, DOCS_END = "<!-- BEGIN_TF_DOCS -->", "<!-- END_TF_DOCS -->"


def expression(value):
    """An HCL value as written: hcl2json gives expressions as "${…}"."""
    if isinstance(value, str) and value.startswith("${") and value.endswith("}"):
        return " ".join(value[2:-1].split())
    return json.dumps(value)


def cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def docs_table(d):
    """The inputs and outputs tables of a module's README, from its .tf files."""
    lines = [DOCS_BEGIN, "## Inputs", "", "| Name | Type | Default | Description |", "|---|---|---|---|"]
    for name, var in sorted(d.variables.items()):
        default = f"`{cell(expression(var['default']))}`" if "default" in var else "required"
        lines.append(f"| `{name}` | `{cell(expression(var.get('type', 'any')))}` | {default} | {cell(var.get('description', ''))} |")
    lines += ["", "## Outputs", "", "| Name | Description |", "|---|---|"]
    for name, out in sorted(d.outputs.items()):
        lines.append(f"| `{name}` | {cell(out.get('description', ''))} |")
    lines.append(DOCS_END)
    return "\n".join(lines)


def check_readme(d, write=False):
    """A module's README carries its current inputs and outputs tables
    (between the TF_DOCS markers; `make tf-docs` rewrites them)."""
    path = os.path.join(d.path, "README.md")
    if not os.path.isfile(path):
        return []
    text = open(path, encoding="utf-8").read()
    if DOCS_BEGIN not in text or DOCS_END not in text:
        return [f"{path}: no {DOCS_BEGIN} … {DOCS_END} section (make tf-docs fills it)"]
    start, end = text.index(DOCS_BEGIN), text.index(DOCS_END) + len(DOCS_END)
    current = text[:start] + docs_table(d) + text[end:]
    if current == text:
        return []
    if write:
        open(path, "w", encoding="utf-8").write(current)
        return []
    return [f"{path}: inputs/outputs tables are out of date (make tf-docs)"]


def check_root(d):
    """A root pins its provider exactly and declares the Terraform versions;
    its example tfvars set only declared variables, and every required one."""
    problems = []
    providers = {}
    for block in d.terraform:
        for req in block.get("required_providers", []):
            providers.update(req)
    if not any("required_version" in b for b in d.terraform):
        problems.append(f"{d.path}: no required_version")
    for name, spec in providers.items():
        if not re.fullmatch(r"\d+\.\d+\.\d+", str(spec.get("version", ""))):
            problems.append(f"{d.path}: provider {name} is not pinned to one version: {spec.get('version')}")
    if d.resources or d.modules:
        example = os.path.join(d.path, "terraform.tfvars.example")
        if not os.path.isfile(example):
            problems.append(f"{d.path}: terraform.tfvars.example is missing")
        else:
            values = tfvars(example)
            for name in values:
                if name not in d.variables:
                    problems.append(f"{example}: sets {name}, which is not a variable")
            for name, decl in d.variables.items():
                if "default" not in decl and name not in values:
                    problems.append(f"{example}: does not set required variable {name}")
    return problems


def tfvars(path):
    """Top-level assignments of a .tfvars file, parsed by hcl.mjs."""
    # hcl2json parses by file name only for diagnostics, so the .example
    # suffix is fine.
    result = parse_files([path])[path]
    if "error" in result:
        raise SystemExit(f"{path}: does not parse: {result['error']}")
    return result["body"]


def main():
    args = [a for a in sys.argv[1:] if a != "--write-docs"]
    root = args[0] if args else "terraform"
    problems = check(root, write_docs="--write-docs" in sys.argv)
    for p in problems:
        print(f"tf-check: {p}")
    if problems:
        sys.exit(1)
    count = sum(1 for _, _, files in os.walk(root) for f in files if f.endswith(".tf"))
    print(f"tf-check: {count} .tf files parse and are formatted; variables, modules, references and tfvars consistent")


if __name__ == "__main__":
    main()
