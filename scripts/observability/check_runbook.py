"""Every alert of the rules has a runbook_url whose anchor is a heading of
docs/runbook.md, and every alert heading there is an alert that exists.

usage: check_runbook.py
"""

import os
import re
import sys

import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RULES = "observability/prometheus/rules/doc-proxy.rules.yml"
RUNBOOK = "docs/runbook.md"


def anchor(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def main() -> int:
    with open(os.path.join(REPO, RULES), encoding="utf-8") as f:
        groups = yaml.safe_load(f)["groups"]
    alerts = {r["alert"]: r for g in groups for r in g["rules"] if "alert" in r}
    with open(os.path.join(REPO, RUNBOOK), encoding="utf-8") as f:
        headings = [line[3:] for line in f if line.startswith("## ")]
    anchors = {anchor(h) for h in headings}
    errors = []
    for name, rule in alerts.items():
        url = rule.get("annotations", {}).get("runbook_url", "")
        if not url.endswith(f"{RUNBOOK}#{anchor(name)}"):
            errors.append(f"{name}: runbook_url {url!r} should end with {RUNBOOK}#{anchor(name)}")
        if anchor(name) not in anchors:
            errors.append(f"{name}: no '## {name}' heading in {RUNBOOK}")
    for heading in headings:
        if heading.strip() not in alerts:
            errors.append(f"{RUNBOOK}: '## {heading.strip()}' is not an alert in {RULES}")
    for error in errors:
        print(error)
    if not errors:
        print(f"runbook: {len(alerts)} alerts, each with its section in {RUNBOOK}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
