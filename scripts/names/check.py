#!/usr/bin/env python3
"""One set of names: the registry path, project, region, cluster, namespace,
service accounts, Workload Identity provider and GitHub environments must be
the same in terraform/envs/prod's outputs, the workflows' env, and the
rendered k8s/overlays/gke. A rename in one place fails here instead of in a
deploy nobody can run from this machine. docs/deploy.md is held to the same
files: the repository variables it sets are the ones the workflows read, and
the outputs, make targets, paths, environments and workflow inputs it names
exist.

    check.py [REPO_DIR]

Prints each disagreement and exits 1 if there is any.
"""

from __future__ import annotations

import glob
import os
import re
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "k8s"))
import rendered  # noqa: E402
import terraform_values  # noqa: E402

# Workflow env name -> Terraform output it must equal.
WORKFLOW_ENV = {
    "GCP_PROJECT": "project_id",
    "TF_VAR_project_id": "project_id",
    "GCP_REGION": "region",
    "TF_VAR_region": "region",
    "IMAGE": "image",
    "GKE_CLUSTER": "cluster_name",
    "K8S_NAMESPACE": "kubernetes_namespace",
    "DEPLOY_SA": "deploy_service_account",
    "TERRAFORM_SA": "terraform_service_account",
    "PLAN_SA": "plan_service_account",
    "WIF_PROVIDER": "workload_identity_provider",
}
# Which workflow needs which names (each must define them).
REQUIRED = {
    "release.yml": {"GCP_PROJECT", "GCP_REGION", "IMAGE", "DEPLOY_SA", "WIF_PROVIDER"},
    "deploy.yml": {"GCP_PROJECT", "GCP_REGION", "IMAGE", "GKE_CLUSTER", "K8S_NAMESPACE", "DEPLOY_SA", "WIF_PROVIDER"},
    "terraform.yml": {"GCP_PROJECT", "GCP_REGION", "TERRAFORM_SA", "PLAN_SA", "WIF_PROVIDER", "TF_VAR_project_id", "TF_VAR_region"},
}
# The workflows write the project number as this repository variable.
PROJECT_NUMBER_VAR = "${{ vars.GCP_PROJECT_NUMBER }}"


def workflow(repo: str, name: str) -> dict:
    with open(os.path.join(repo, ".github", "workflows", name), encoding="utf-8") as f:
        return yaml.safe_load(f)


def check(repo: str) -> list[str]:
    problems = []
    tf = terraform_values.root(os.path.join(repo, "terraform", "envs", "prod"))
    outputs = {name: tf.output(name) for name in set(WORKFLOW_ENV.values()) | {"address_names", "certificate_map", "kubernetes_service_account"}}
    identity = tf.module("ci_identity")

    # Workflows.
    for name, required in REQUIRED.items():
        env = workflow(repo, name).get("env", {})
        for key in sorted(required - env.keys()):
            problems.append(f"{name}: env.{key} is missing (Terraform output {WORKFLOW_ENV[key]} = {outputs[WORKFLOW_ENV[key]]})")
        for key, output in WORKFLOW_ENV.items():
            if key not in env:
                continue
            want = str(outputs[output]).replace(terraform_values.PROJECT_NUMBER, PROJECT_NUMBER_VAR)
            if env[key] != want:
                problems.append(f"{name}: env.{key} is {env[key]!r}, Terraform output {output} is {want!r}")

    release = workflow(repo, "release.yml")
    # PyYAML reads the key `on` as True.
    branches = (release.get("on") or release.get(True))["push"]["branches"]
    if branches != [identity.variable("release_branch")]:
        problems.append(f"release.yml: runs on {branches}, the deploy identity trusts pushes to {identity.variable('release_branch')!r} only")
    environments = {
        ("deploy.yml", "deploy"): identity.variable("deploy_environment"),
        ("terraform.yml", "apply"): identity.variable("infra_environment"),
    }
    for (name, job), want in environments.items():
        got = workflow(repo, name)["jobs"][job].get("environment", {})
        got = got.get("name") if isinstance(got, dict) else got
        if got != want:
            problems.append(f"{name}: job {job} runs in environment {got!r}, the identity trusts {want!r}")

    # The gke overlay.
    objects = rendered.render(os.path.join(repo, "k8s", "overlays", "gke"))
    namespace = outputs["kubernetes_namespace"]
    deployment = rendered.find(objects, "Deployment", "doc-proxy")
    image = deployment["spec"]["template"]["spec"]["containers"][0]["image"].split("@")[0].split(":")[0]
    if image != outputs["image"]:
        problems.append(f"k8s/overlays/gke: image {image!r}, Terraform output image is {outputs['image']!r}")
    if not any(o["kind"] == "Namespace" and o["metadata"]["name"] == namespace for o in objects):
        problems.append(f"k8s/overlays/gke: no Namespace {namespace!r} (Terraform output kubernetes_namespace)")
    for o in objects:
        ns = o["metadata"].get("namespace")
        if o["kind"] != "Namespace" and ns is not None and ns != namespace:
            problems.append(f"k8s/overlays/gke: {o['kind']}/{o['metadata']['name']} is in namespace {ns!r}, not {namespace!r}")
    sa = outputs["kubernetes_service_account"]
    if deployment["spec"]["template"]["spec"].get("serviceAccountName") != sa:
        problems.append(f"k8s/overlays/gke: Deployment doc-proxy runs as {deployment['spec']['template']['spec'].get('serviceAccountName')!r}, not {sa!r}")
    if not any(o["kind"] == "ServiceAccount" and o["metadata"]["name"] == sa for o in objects):
        problems.append(f"k8s/overlays/gke: no ServiceAccount {sa!r} (Terraform output kubernetes_service_account)")
    # One Gateway per address family (k8s/components/ingress): together they
    # ask for exactly the addresses Terraform reserves, each with its map.
    gateways = [o for o in objects if o["kind"] == "Gateway"]
    addresses = sorted(a["value"] for g in gateways for a in g["spec"].get("addresses", []))
    if addresses != sorted(outputs["address_names"]):
        problems.append(f"k8s/overlays/gke: Gateway addresses {addresses}, Terraform output address_names is {outputs['address_names']}")
    for gateway in gateways:
        certmap = gateway["metadata"].get("annotations", {}).get("networking.gke.io/certmap")
        if certmap != outputs["certificate_map"]:
            problems.append(f"k8s/overlays/gke: Gateway {gateway['metadata']['name']} certmap {certmap!r}, "
                            f"Terraform output certificate_map is {outputs['certificate_map']!r}")
    return problems + check_docs(repo, list(environments.values()))


def check_docs(repo: str, environments: list[str]) -> list[str]:
    """docs/deploy.md's commands against the files they refer to."""
    path = os.path.join(repo, "docs", "deploy.md")
    with open(path, encoding="utf-8") as f:
        doc = f.read()
    problems = []
    workflows = sorted(glob.glob(os.path.join(repo, ".github", "workflows", "*.yml")))
    used = set()
    for w in workflows:
        with open(w, encoding="utf-8") as f:
            used |= set(re.findall(r"vars\.([A-Z_]+)", f.read()))
    documented = set(re.findall(r"gh variable set ([A-Z_]+)", doc))
    for v in sorted(used - documented):
        problems.append(f"docs/deploy.md: the workflows read vars.{v}; no `gh variable set {v}`")
    for v in sorted(documented - used):
        problems.append(f"docs/deploy.md: sets {v}, which no workflow reads")

    outputs = set()
    for root in ("bootstrap", os.path.join("envs", "prod")):
        with open(os.path.join(repo, "terraform", root, "outputs.tf"), encoding="utf-8") as f:
            outputs |= set(re.findall(r'^output "([^"]+)"', f.read(), re.M))
    for name in re.findall(r"terraform output (?:-raw |-json )?([a-z_]+)", doc):
        if name not in outputs:
            problems.append(f"docs/deploy.md: terraform output {name} does not exist")

    with open(os.path.join(repo, "Makefile"), encoding="utf-8") as f:
        targets = set(re.findall(r"^([a-z][a-z-]*):", f.read(), re.M))
    for target in re.findall(r"`make ([a-z-]+)`", doc):
        if target not in targets:
            problems.append(f"docs/deploy.md: make {target} is not a Makefile target")

    for ref in re.findall(r"`((?:terraform|k8s|scripts|docs|\.github)/[^`\s]*)`", doc):
        stem, _, alternatives = ref.partition("{")
        names, _, rest = alternatives.partition("}")
        for candidate in [stem + n + rest for n in names.split(",")] if alternatives else [ref]:
            if not os.path.exists(os.path.join(repo, candidate)):
                problems.append(f"docs/deploy.md: {candidate} does not exist")

    for env in environments:
        if f"`{env}`" not in doc:
            problems.append(f"docs/deploy.md: does not name the GitHub environment `{env}`")
    for line in re.findall(r"gh workflow run [^\n]*", doc):
        workflow_file = line.split()[3]
        fields = re.findall(r"-f (\w+)=", line)
        inputs = ((workflow(repo, workflow_file).get(True) or {}).get("workflow_dispatch") or {}).get("inputs") or {}
        for field in fields:
            if field not in inputs:
                problems.append(f"docs/deploy.md: {workflow_file} has no workflow_dispatch input {field}")
        for name, spec in inputs.items():
            if (spec or {}).get("required") and name not in fields:
                problems.append(f"docs/deploy.md: `{line.strip()}` leaves out {workflow_file}'s required input {name}")

    # Application-default credentials take their quota project from the
    # project set when they are made: set the project first, then log in,
    # then name the quota project (or terraform meets "requires a quota project").
    steps = {k: doc.find(k) for k in ("gcloud config set project", "gcloud auth application-default login",
                                       "gcloud auth application-default set-quota-project")}
    for k in (k for k, v in steps.items() if v == -1):
        problems.append(f"docs/deploy.md: credentials: no `{k}`")
    found = [steps[k] for k in steps if steps[k] != -1]
    if found != sorted(found):
        problems.append("docs/deploy.md: credentials: set the project, then `gcloud auth application-default login`, "
                        "then `set-quota-project`, in that order (else: requires a quota project)")
    return problems


def main():
    repo = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..")
    problems = check(os.path.abspath(repo))
    for p in problems:
        print(f"names-check: {p}")
    if problems:
        sys.exit(1)
    print("names-check: Terraform outputs, workflows and k8s/overlays/gke agree")


if __name__ == "__main__":
    main()
