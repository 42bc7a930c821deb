"""Static values of a Terraform root's outputs, without terraform: a small
evaluator over the parsed .tf files (scripts/tf/hcl.mjs) that follows
var./local./module./resource references through module calls to literals,
variable defaults and the root's terraform.tfvars.example.

It knows only what names need: string templates, references with .attr,
["key"] and [0], lists and maps. Attributes the provider computes are
derived the way Google forms them (a service account's e-mail, a Workload
Identity provider's resource name); the project number, unknowable offline,
is the placeholder PROJECT_NUMBER. Anything else raises Unsupported, so a
changed expression fails the check loudly instead of passing by accident.
"""

from __future__ import annotations

import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tf"))
from check_terraform import Dir, parse_files  # noqa: E402

PROJECT_NUMBER = "PROJECT_NUMBER"
TOKEN = re.compile(r'\s*(?:(?P<name>[A-Za-z_][\w-]*)|\[\s*"(?P<key>[^"]*)"\s*\]|\[\s*(?P<index>\d+)\s*\]|\[(?P<expr>[^\]]+)\]|(?P<dot>\.))')


class Unsupported(Exception):
    pass


def parse_tree(top: str) -> dict[str, dict]:
    """Every .tf file under TOP (and each terraform.tfvars.example), parsed in
    one run of hcl.mjs: {path: body}."""
    files = sorted(
        os.path.join(d, f)
        for d, _, names in os.walk(top)
        if ".terraform" not in d
        for f in names
        if f.endswith(".tf") or f == "terraform.tfvars.example"
    )
    parsed = parse_files(files)
    for f, result in parsed.items():
        if "error" in result:
            raise Unsupported(f"{f}: {result['error']}")
    return {os.path.normpath(f): result["body"] for f, result in parsed.items()}


def load_dir(path: str, tree: dict[str, dict]) -> Dir:
    path = os.path.normpath(path)
    files = sorted(f for f in tree if os.path.dirname(f) == path and f.endswith(".tf"))
    if not files:
        raise Unsupported(f"{path}: no .tf files")
    return Dir(path, [tree[f] for f in files])


def resource_blocks(d: Dir, rtype: str, name: str) -> dict:
    for body in d.bodies:
        block = body.get("resource", {}).get(rtype, {}).get(name)
        if block:
            return block[0]
    raise Unsupported(f"{d.path}: no resource {rtype}.{name}")


class Scope:
    """One module instance: its directory, its input values, and how to
    evaluate them (in the caller's scope)."""

    def __init__(self, path: str, inputs: dict[str, object], tree: dict[str, dict], caller: Scope | None = None, each: dict | None = None):
        self.tree = tree
        self.dir = load_dir(path, tree)
        self.path = path
        self.inputs = inputs  # var name -> raw expression, evaluated in caller
        self.caller = caller
        self.each = each
        self._modules: dict[str, Scope] = {}

    def with_each(self, each: dict) -> Scope:
        clone = object.__new__(Scope)
        clone.__dict__.update(self.__dict__)
        clone.each = each
        return clone

    # --- values --------------------------------------------------------------

    def value(self, raw):
        """A parsed HCL value: literals as they are, "${…}" strings evaluated."""
        if isinstance(raw, list):
            return [self.value(v) for v in raw]
        if isinstance(raw, dict):
            return {k: self.value(v) for k, v in raw.items()}
        if not isinstance(raw, str) or "${" not in raw:
            return raw
        whole = re.fullmatch(r"\$\{([^{}]*)\}", raw)
        if whole:
            return self.expr(whole.group(1))
        return re.sub(r"\$\{([^{}]*)\}", lambda m: str(self.expr(m.group(1))), raw)

    def expr(self, text: str):
        text = text.strip()
        if re.fullmatch(r'"[^"]*"', text):
            return text[1:-1]
        path = self.parse_path(text)
        return self.resolve(path)

    def parse_path(self, text: str) -> list:
        parts, pos = [], 0
        while pos < len(text):
            m = TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise Unsupported(f"{self.path}: cannot evaluate `{text}`")
            if m.group("name"):
                parts.append(m.group("name"))
            elif m.group("key") is not None:
                parts.append(m.group("key"))
            elif m.group("index") is not None:
                parts.append(int(m.group("index")))
            elif m.group("expr") is not None:
                parts.append(self.expr(m.group("expr")))
            pos = m.end()
        return parts

    def resolve(self, path: list):
        head = path[0]
        if head == "var":
            return self.walk(self.variable(path[1]), path[2:])
        if head == "local":
            if path[1] not in self.dir.locals:
                raise Unsupported(f"{self.path}: no local {path[1]}")
            return self.walk(self.value(self.dir.locals[path[1]]), path[2:])
        if head == "each":
            if self.each is None:
                raise Unsupported(f"{self.path}: each. outside for_each")
            return self.walk(self.each, path[1:])
        if head == "module":
            return self.walk(self.module(path[1]).output(path[2]), path[3:])
        if head == "data":
            if path[1:3] == ["google_project", "this"] and path[3] == "number":
                return PROJECT_NUMBER
            raise Unsupported(f"{self.path}: data.{'.'.join(map(str, path[1:]))}")
        if head.startswith("google_"):
            return self.resource(head, path[1], path[2:])
        raise Unsupported(f"{self.path}: cannot evaluate reference {path}")

    @staticmethod
    def walk(value, rest: list):
        for part in rest:
            try:
                value = value[part]
            except (KeyError, IndexError, TypeError) as e:
                raise Unsupported(f"cannot index {value!r} with {part!r}") from e
        return value

    def variable(self, name: str):
        if name in self.inputs:
            return self.caller.value(self.inputs[name]) if self.caller else self.inputs[name]
        decl = self.dir.variables.get(name)
        if decl is None:
            raise Unsupported(f"{self.path}: no variable {name}")
        if "default" not in decl:
            raise Unsupported(f"{self.path}: variable {name} has no value")
        return decl["default"]

    def module(self, name: str) -> Scope:
        if name not in self._modules:
            call = self.dir.modules.get(name)
            if call is None:
                raise Unsupported(f"{self.path}: no module {name}")
            path = os.path.normpath(os.path.join(self.path, call["source"]))
            self._modules[name] = Scope(path, {k: v for k, v in call.items() if k != "source"}, self.tree, caller=self)
        return self._modules[name]

    def output(self, name: str):
        out = self.dir.outputs.get(name)
        if out is None:
            raise Unsupported(f"{self.path}: no output {name}")
        return self.value(out["value"])

    def resource(self, rtype: str, name: str, rest: list):
        block = resource_blocks(self.dir, rtype, name)
        scope = self
        if "for_each" in block:
            items = self.value(block["for_each"])
            if not rest or rest[0] not in items:
                raise Unsupported(f"{self.path}: {rtype}.{name} needs a for_each key")
            scope = self.with_each({"key": rest[0], "value": items[rest[0]]})
            rest = rest[1:]
        elif "count" in block:
            if not rest or rest[0] != 0:
                raise Unsupported(f"{self.path}: {rtype}.{name} needs [0]")
            rest = rest[1:]
        attr, rest = rest[0], rest[1:]
        return self.walk(scope.attribute(rtype, block, attr), rest)

    def attribute(self, rtype: str, block: dict, attr: str):
        get = lambda key: self.value(block[key])  # noqa: E731
        if rtype == "google_service_account" and attr in ("email", "member"):
            email = f"{get('account_id')}@{get('project')}.iam.gserviceaccount.com"
            return email if attr == "email" else f"serviceAccount:{email}"
        if rtype == "google_service_account" and attr == "name":
            return f"projects/{get('project')}/serviceAccounts/{self.attribute(rtype, block, 'email')}"
        if rtype == "google_iam_workload_identity_pool" and attr == "name":
            return f"projects/{PROJECT_NUMBER}/locations/global/workloadIdentityPools/{get('workload_identity_pool_id')}"
        if rtype == "google_iam_workload_identity_pool_provider" and attr == "name":
            return (
                f"projects/{PROJECT_NUMBER}/locations/global/workloadIdentityPools/"
                f"{get('workload_identity_pool_id')}/providers/{get('workload_identity_pool_provider_id')}"
            )
        if attr in block:
            return get(attr)
        raise Unsupported(f"{self.path}: {rtype}.{attr} is computed by the provider")


def root(path: str) -> Scope:
    """A root module (inside a terraform/ tree with modules/ beside it) with
    its terraform.tfvars.example as the variables."""
    tree = parse_tree(os.path.join(path, "..", ".."))
    example = os.path.normpath(os.path.join(path, "terraform.tfvars.example"))
    if example not in tree:
        raise Unsupported(f"{example} is missing")
    return Scope(path, tree[example], tree)
