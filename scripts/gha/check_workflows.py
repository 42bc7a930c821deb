#!/usr/bin/env python3
"""What actionlint 1.17 lets through in .github/workflows, checked offline.

1. Every `uses:` names something GitHub can resolve. A job's `uses:` (a
   reusable-workflow call) is `$/.github/workflows/NAME.yml` (the
   self-repository form, no @REF; github.com only, not Enterprise Server) or
   `./.github/workflows/NAME.yml`, either naming a file here that has
   `on.workflow_call`, or `OWNER/REPO/.github/workflows/NAME.yml@REF`
   (GitHub's "Reuse workflows" page). A local call passes only inputs and
   secrets the callee declares, and every required one (`secrets: inherit`
   passes all). A step's `uses:` is `$/PATH` or `./PATH` (a directory here
   with action.yml), `docker://IMAGE`, or `OWNER/REPO[/PATH]@REF`.
2. Re-running a release must not push a tag twice: when terraform's image
   repository has `immutable_tags = true`, every build step that pushes runs
   only `if:` an earlier step of the same job, which asks the registry for the
   tag (`imagetools inspect`), found it absent.
3. A deploy renders the manifests of the revision it deploys: no job of a
   workflow with `workflow_dispatch` passes `github.sha` / `$GITHUB_SHA` as
   the revision, since a hand-run roll-back runs on main's HEAD.

    check_workflows.py [REPO_DIR]     exit 1 and one line per finding
"""

import os
import re
import sys

import yaml

REMOTE_WORKFLOW = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/\.github/workflows/[^@/]+\.ya?ml@[^@\s]+$")
LOCAL_WORKFLOW = re.compile(r"^(\./|\$/)\.github/workflows/[^/@]+\.ya?ml$")
REMOTE_ACTION = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(/[^@\s]+)?@[^@\s]+$")


def load(path):
    with open(path) as f:
        doc = yaml.safe_load(f)
    # PyYAML reads the key `on` as the boolean True.
    if isinstance(doc, dict) and True in doc and "on" not in doc:
        doc["on"] = doc.pop(True)
    return doc


def triggers(doc):
    on = doc.get("on") or {}
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return {t: None for t in on}
    return on


def check_call(repo, wf, job_id, job, findings):
    uses = job["uses"]
    where = f"{wf}: jobs.{job_id}.uses: {uses!r}"
    if REMOTE_WORKFLOW.match(uses):
        return
    if not LOCAL_WORKFLOW.match(uses):
        findings.append(f"{where}: GitHub accepts $/.github/workflows/FILE, ./.github/workflows/FILE or OWNER/REPO/.github/workflows/FILE@REF")
        return
    path = os.path.join(repo, uses[2:])
    if not os.path.isfile(path):
        findings.append(f"{where}: no such workflow")
        return
    trig = triggers(load(path))
    if "workflow_call" not in trig:
        findings.append(f"{where}: {uses[2:]} has no on.workflow_call, so it cannot be called")
        return
    call = trig["workflow_call"] or {}
    for kind, passed in (("inputs", job.get("with") or {}), ("secrets", job.get("secrets") or {})):
        if passed == "inherit":
            continue
        declared = call.get(kind) or {}
        for name in passed:
            if name not in declared:
                findings.append(f"{where}: passes {kind[:-1]} {name!r}, which {uses[2:]} does not declare")
        for name, spec in declared.items():
            if (spec or {}).get("required") and name not in passed and "default" not in (spec or {}):
                findings.append(f"{where}: does not pass required {kind[:-1]} {name!r}")


def check_step(repo, wf, where, uses, findings):
    if uses.startswith("docker://"):
        return
    if uses.startswith(("./", "$/")):
        d = os.path.join(repo, uses[2:])
        if not any(os.path.isfile(os.path.join(d, n)) for n in ("action.yml", "action.yaml")):
            findings.append(f"{wf}: {where}: {uses!r}: no action.yml there")
        return
    if not REMOTE_ACTION.match(uses):
        findings.append(f"{wf}: {where}: {uses!r}: GitHub accepts $/PATH, ./PATH, docker://IMAGE or OWNER/REPO[/PATH]@REF")


def immutable_tags(repo):
    """True when a terraform Artifact Registry repository sets immutable_tags = true."""
    for root, _, files in os.walk(os.path.join(repo, "terraform")):
        for n in files:
            if n.endswith(".tf"):
                with open(os.path.join(root, n)) as f:
                    if re.search(r"^\s*immutable_tags\s*=\s*true\b", f.read(), re.M):
                        return True
    return False


def pushes(step):
    w = step.get("with") or {}
    return str(step.get("uses", "")).startswith("docker/build-push-action@") and str(w.get("push", "")).lower() == "true"


def check_push_guard(wf, job_id, job, findings):
    steps = job.get("steps") or []
    for i, step in enumerate(steps):
        if not pushes(step):
            continue
        where = f"{wf}: jobs.{job_id}: step {step.get('id') or i}"
        cond = str(step.get("if", ""))
        probes = [s for s in steps[:i] if s.get("id") and "imagetools inspect" in str(s.get("run", ""))]
        if not any(f"steps.{p['id']}.outputs." in cond for p in probes):
            findings.append(
                f"{where}: pushes to a repository with immutable tags; a re-run pushes the same tag again and fails. "
                "Run it only if an earlier step (an `imagetools inspect` of the tag, with an id) found the tag absent"
            )


SHA = re.compile(r"github\.sha|\$\{?GITHUB_SHA\b")


def check_revision(wf, doc, findings):
    if "workflow_dispatch" not in triggers(doc):
        return
    for job_id, job in (doc.get("jobs") or {}).items():
        for i, step in enumerate(job.get("steps") or []):
            text = yaml.safe_dump({"run": step.get("run"), "env": step.get("env"), "with": step.get("with")})
            if SHA.search(text):
                findings.append(
                    f"{wf}: jobs.{job_id}: step {step.get('name') or i} uses the run's commit (github.sha); "
                    "a hand-run deploy of an earlier image must name that image's revision (an input or its label)"
                )


def check(repo):
    findings = []
    wfdir = os.path.join(repo, ".github", "workflows")
    immutable = immutable_tags(repo)
    for n in sorted(os.listdir(wfdir)):
        if not n.endswith((".yml", ".yaml")):
            continue
        wf = f".github/workflows/{n}"
        doc = load(os.path.join(wfdir, n))
        for job_id, job in (doc.get("jobs") or {}).items():
            if "uses" in job:
                check_call(repo, wf, job_id, job, findings)
            for i, step in enumerate(job.get("steps") or []):
                if "uses" in step:
                    check_step(repo, wf, f"jobs.{job_id}.steps[{i}]", str(step["uses"]), findings)
            if immutable:
                check_push_guard(wf, job_id, job, findings)
        check_revision(wf, doc, findings)
    return findings


def main():
    repo = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
    findings = check(os.path.abspath(repo))
    for f in findings:
        print(f"check_workflows: {f}", file=sys.stderr)
    if findings:
        sys.exit(1)
    print("  every uses: resolves; pushes skip an existing tag; hand-run deploys name their revision")


if __name__ == "__main__":
    main()
