"""Writes, or checks, the Kubernetes copies of the Prometheus rules.

observability/prometheus/rules/doc-proxy.rules.yml is the one source. On GKE
the rules travel as a custom resource: `Rules` for Google Cloud Managed
Service for Prometheus (k8s/components/gke-managed-prometheus/rules.yaml), and
`PrometheusRule` for the Prometheus Operator
(k8s/components/prometheus-operator/prometheusrule.yaml). Both carry the same
groups, unchanged.

    python k8s_rules.py --write   # regenerate both
    python k8s_rules.py           # exit 1 when either differs from the source,
                                  # or fails its CRD schema subset
"""

import os
import sys

import jsonschema
import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SOURCE = "observability/prometheus/rules/doc-proxy.rules.yml"
HEADER = (
    "# Generated from {source} by scripts/observability/k8s_rules.py --write;\n"
    "# `make rules-check` fails when it differs. Edit the source, not this file.\n"
    "# Alert summaries are long lines there too.\n"
    "# yamllint disable rule:line-length\n"
)
LABELS = {"app.kubernetes.io/name": "doc-proxy", "app.kubernetes.io/part-of": "doc-proxy"}
TARGETS = {
    "k8s/components/gke-managed-prometheus/rules.yaml": ("monitoring.googleapis.com/v1", "Rules"),
    "k8s/components/prometheus-operator/prometheusrule.yaml": ("monitoring.coreos.com/v1", "PrometheusRule"),
}


class Literal(str):
    """A multi-line string, written as a YAML block scalar."""


def literal_representer(dumper, value):
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")


class Dumper(yaml.SafeDumper):
    """Indents sequences inside mappings, as yamllint (and kubectl) write them."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


Dumper.add_representer(Literal, literal_representer)


def blocks(value):
    """Multi-line strings of `value` as block scalars, for readable output."""
    if isinstance(value, dict):
        return {k: blocks(v) for k, v in value.items()}
    if isinstance(value, list):
        return [blocks(v) for v in value]
    if isinstance(value, str) and "\n" in value:
        return Literal(value)
    return value


def render(api_version: str, kind: str, groups: list) -> str:
    resource = {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": "doc-proxy", "labels": LABELS},
        "spec": {"groups": blocks(groups)},
    }
    body = yaml.dump(resource, Dumper=Dumper, sort_keys=False, width=1000, allow_unicode=True)
    return HEADER.format(source=SOURCE) + body


def main() -> int:
    write = "--write" in sys.argv[1:]
    with open(os.path.join(REPO, SOURCE), encoding="utf-8") as f:
        groups = yaml.safe_load(f)["groups"]
    stale = []
    for path, (api_version, kind) in TARGETS.items():
        wanted = render(api_version, kind, groups)
        full = os.path.join(REPO, path)
        current = open(full, encoding="utf-8").read() if os.path.exists(full) else None
        if current == wanted:
            continue
        if write:
            with open(full, "w", encoding="utf-8") as f:
                f.write(wanted)
            print(f"wrote {path}")
        else:
            stale.append(path)
    for path in stale:
        print(f"{path} differs from {SOURCE}: run python3 scripts/observability/k8s_rules.py --write")
    invalid = schema_errors()
    for error in invalid:
        print(error)
    if not stale and not invalid:
        print(f"k8s rules: {len(TARGETS)} copies of {SOURCE}, equal and schema-valid")
    return 1 if stale or invalid else 0


def schema_errors() -> list:
    """Each copy against the written subset of its CRD (k8s/schemas): the
    components are opt-in, so no overlay renders them for k8s-check."""
    with open(os.path.join(REPO, "k8s", "schemas", "custom-resources.yaml"), encoding="utf-8") as f:
        schemas = yaml.safe_load(f)
    errors = []
    for path, (api_version, kind) in TARGETS.items():
        full = os.path.join(REPO, path)
        if not os.path.exists(full):
            continue
        schema = {"$defs": schemas["$defs"], **schemas["kinds"][f"{api_version}/{kind}"]}
        with open(full, encoding="utf-8") as f:
            resource = yaml.safe_load(f)
        for error in jsonschema.Draft202012Validator(schema).iter_errors(resource):
            errors.append(f"{path}: {'/'.join(map(str, error.absolute_path))}: {error.message}")
    return errors


if __name__ == "__main__":
    sys.exit(main())
