#!/usr/bin/env python3
"""Checks k8s/schemas/custom-resources.yaml against a project's real CRD
files, for the kinds no package registry ships a schema of (SpinApp,
SpinAppExecutor, PodMonitoring, Rules, Shim). Run by hand, with CRD files from the
upstream release named in k8s/schemas/README.md; CI cannot fetch them, so
make k8s-check uses the written subsets this keeps honest.

For each CRD version the subset file has a schema for:
  1. every field the subset allows exists in the CRD at the same place
     (the subset may be narrower, never wider);
  2. the rendered overlays' objects of that kind validate against the CRD's
     openAPIV3Schema, with unknown fields refused as kubectl's strict field
     validation refuses them.
Prints the sha256 of each CRD file read, for the README.

    compare_crd.py CRD.yaml...
"""

from __future__ import annotations

import copy
import hashlib
import os
import sys

import jsonschema
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rendered  # noqa: E402

REPO = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
OVERLAYS = ["k8s/overlays/local", "k8s/overlays/gke", "k8s/overlays/spinkube", "k8s/spin-shim"]


def strict(schema: dict) -> dict:
    """The CRD schema as JSON Schema, with unknown fields refused."""
    s = copy.deepcopy(schema)

    def walk(node):
        if not isinstance(node, dict):
            return
        if node.pop("x-kubernetes-int-or-string", False):
            node.pop("type", None)
            node["anyOf"] = [{"type": "integer"}, {"type": "string"}]
        if node.pop("nullable", False) and "type" in node:
            node["type"] = [node["type"], "null"]
        preserve = node.pop("x-kubernetes-preserve-unknown-fields", False)
        for k in [k for k in node if k.startswith("x-kubernetes-")]:
            node.pop(k)
        if "properties" in node and "additionalProperties" not in node and not preserve:
            node["additionalProperties"] = False
        for v in node.get("properties", {}).values():
            walk(v)
        for key in ("items", "additionalProperties"):
            walk(node.get(key))
        for key in ("allOf", "anyOf", "oneOf"):
            for v in node.get(key, []):
                walk(v)

    walk(s)
    # metadata is the API server's (ObjectMeta), not the CRD's.
    s.setdefault("properties", {})["metadata"] = {"type": "object"}
    return s


def subset_fields(schema: dict, defs: dict, path: str = "") -> list[str]:
    """Every dotted field path the written subset allows."""
    if "$ref" in schema:
        return subset_fields(defs[schema["$ref"].split("/")[-1]], defs, path)
    out = []
    for name, sub in (schema.get("properties") or {}).items():
        p = f"{path}.{name}" if path else name
        out.append(p)
        out += subset_fields(sub, defs, p)
    if isinstance(schema.get("items"), dict):
        out += subset_fields(schema["items"], defs, path + "[]")
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            out += subset_fields(sub, defs, path)
    return out


def crd_has(schema: dict, path: str) -> bool:
    node = schema
    for part in path.replace("[]", ".[]").split("."):
        if part == "":
            continue
        if part == "[]":
            node = node.get("items") or {}
            continue
        if node.get("x-kubernetes-preserve-unknown-fields"):
            return True
        props = node.get("properties")
        if props is None:
            return isinstance(node.get("additionalProperties"), dict) or node.get("type") == "object"
        if part not in props:
            return False
        node = props[part]
    return True


def main(paths: list[str]) -> int:
    with open(os.path.join(REPO, "k8s/schemas/custom-resources.yaml")) as f:
        subsets = yaml.safe_load(f)
    objects = [o for ov in OVERLAYS for o in rendered.render(os.path.join(REPO, ov))]
    failed = 0
    for path in paths:
        with open(path, "rb") as f:
            raw = f.read()
        print(f"{path}: sha256 {hashlib.sha256(raw).hexdigest()}")
        for crd in (d for d in yaml.safe_load_all(raw) if d and d.get("kind") == "CustomResourceDefinition"):
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                key = f"{group}/{version['name']}/{kind}"
                if key not in subsets["kinds"]:
                    continue
                schema = version["schema"]["openAPIV3Schema"]
                wider = [p for p in subset_fields(subsets["kinds"][key], subsets["$defs"])
                         if not p.startswith("metadata") and not crd_has(schema, p)]
                for p in wider:
                    print(f"  {key}: the subset allows {p}, which the CRD does not define")
                validator = jsonschema.Draft7Validator(strict(schema))
                mine = [o for o in objects if f"{o['apiVersion']}/{o['kind']}" == key]
                errors = [f"{o['metadata']['name']}: {'.'.join(map(str, e.path))}: {e.message}"
                          for o in mine for e in validator.iter_errors(o)]
                for e in errors:
                    print(f"  {key}: {e}")
                print(f"  {key}: subset {'narrower or equal' if not wider else 'WIDER'}; "
                      f"{len(mine)} rendered object(s), {len(errors)} error(s) against the CRD")
                failed += bool(wider or errors)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
