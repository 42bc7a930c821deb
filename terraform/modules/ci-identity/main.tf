# Keyless access for GitHub Actions: a Workload Identity pool trusting
# GitHub's OIDC issuer for one repository (by its numeric ID and its owner's),
# and three service accounts, each impersonable only from one kind of job:
#
#   deploy     pushes to the release repository (push to the release branch)
#              and deploys to the cluster (jobs in the deploy environment);
#   terraform  applies terraform/envs/prod (jobs in the infra environment);
#   plan       reads the project and the state for PR plans (pull_request).
#
# Trust is keyed on the token's separate claims (repository_id,
# repository_owner_id, environment, ref, event_name), never on `sub`: GitHub
# puts the owner's and the repository's IDs into `sub` for repositories
# created, renamed or transferred after 2026-06-18 (GitHub changelog
# 2026-04-23, "Immutable subject claims for GitHub Actions OIDC tokens"), so a
# condition on the name-only `sub` refuses every job of such a repository,
# while the claims below mean the same for old and new ones.
#
# No service account key is created anywhere; the org policy
# iam.disableServiceAccountKeyCreation can stay on.

locals {
  release_ref = "refs/heads/${var.release_branch}"

  # Each job that may get a Google token, as a CEL condition on the claims of
  # its OIDC token (GitHub's OpenID Connect reference). `environment` is
  # present only in a job that names an environment, hence the has() guards.
  # A reusable workflow's job carries its caller's event (release.yml's push).
  jobs = {
    release = "assertion.event_name == 'push' && assertion.ref == '${local.release_ref}' && !has(assertion.environment)"
    deploy  = "has(assertion.environment) && assertion.environment == '${var.deploy_environment}' && assertion.ref == '${local.release_ref}' && assertion.event_name in ['push', 'workflow_dispatch']"
    apply   = "has(assertion.environment) && assertion.environment == '${var.infra_environment}' && assertion.ref == '${local.release_ref}' && assertion.event_name == 'push'"
    plan    = "assertion.event_name == 'pull_request' && !has(assertion.environment)"
  }
  job_order = ["release", "deploy", "apply", "plan"]

  # The provider refuses every token but this repository's (IDs do not move
  # with a rename, and a re-registered name gets new ones) and those of the
  # four jobs, before any service account binding is looked at.
  attribute_condition = join(" && ", [
    "assertion.repository_id == '${var.github_repository_id}'",
    "assertion.repository_owner_id == '${var.github_repository_owner_id}'",
    "(${join(" || ", [for job in local.job_order : "(${local.jobs[job]})"])})",
  ])

  attribute_mapping = {
    # The run, for audit logs: short (google.subject takes at most 127 bytes,
    # which a `sub` carrying a long name and two IDs can pass) and the same
    # whatever the repository's age. No binding uses it.
    "google.subject" = "'repository_id:' + assertion.repository_id + ':run:' + assertion.run_id + ':' + assertion.run_attempt"
    # Which of the four jobs this token is ('none' for any other): the
    # service accounts' bindings name it.
    "attribute.ci_job"        = join(" : ", concat([for job in local.job_order : "(${local.jobs[job]}) ? '${job}'"], ["'none'"]))
    "attribute.repository_id" = "assertion.repository_id"
    "attribute.repository"    = "assertion.repository"
    "attribute.ref"           = "assertion.ref"
  }

  # Which job may impersonate which account.
  impersonators = {
    deploy_release  = { account = "deploy", job = "release" }
    deploy_env      = { account = "deploy", job = "deploy" }
    terraform_apply = { account = "terraform", job = "apply" }
    terraform_plan  = { account = "plan", job = "plan" }
  }

  accounts = {
    deploy    = { id = var.deploy_account_id, name = "Publishes images and deploys doc-proxy (GitHub Actions)" }
    terraform = { id = "doc-proxy-terraform", name = "Applies terraform/envs/prod (GitHub Actions)" }
    plan      = { id = "doc-proxy-plan", name = "Plans terraform/envs/prod on pull requests, read-only (GitHub Actions)" }
  }

  # Read access to exactly what terraform/envs/prod manages (no basic
  # roles): refresh needs get/list on each resource type and its IAM policy.
  plan_roles = [
    "roles/artifactregistry.reader",
    "roles/binaryauthorization.policyViewer",
    "roles/browser",
    "roles/certificatemanager.viewer",
    "roles/compute.networkViewer",
    "roles/container.clusterViewer",
    "roles/iam.securityReviewer",
    "roles/iam.serviceAccountViewer",
    "roles/iam.workloadIdentityPoolViewer",
    "roles/monitoring.viewer",
  ]
}

resource "google_iam_workload_identity_pool" "github" {
  project                   = var.project_id
  workload_identity_pool_id = var.pool_id
  display_name              = "GitHub Actions"
  description               = "OIDC tokens of ${var.github_repository}'s workflows"
}

resource "google_iam_workload_identity_pool_provider" "github" {
  #checkov:skip=CKV_GCP_125:The check wants assertion.sub compared with repo:OWNER/NAME:…; this condition pins the repository and owner by numeric ID and each job by environment, ref and event instead, because GitHub's sub now carries those IDs for new, renamed and transferred repositories (make tf-check evaluates the condition against tokens of both formats).
  project                            = var.project_id
  workload_identity_pool_id          = google_iam_workload_identity_pool.github.workload_identity_pool_id
  workload_identity_pool_provider_id = var.provider_id
  display_name                       = "GitHub OIDC"

  attribute_mapping   = local.attribute_mapping
  attribute_condition = local.attribute_condition

  oidc {
    issuer_uri = "https://token.actions.githubusercontent.com"
  }
}

resource "google_service_account" "ci" {
  for_each = local.accounts

  project      = var.project_id
  account_id   = each.value.id
  display_name = each.value.name
}

resource "google_service_account_iam_member" "impersonation" {
  for_each = local.impersonators

  service_account_id = google_service_account.ci[each.value.account].name
  role               = "roles/iam.workloadIdentityUser"
  member             = "principalSet://iam.googleapis.com/${google_iam_workload_identity_pool.github.name}/attribute.ci_job/${each.value.job}"
}

# Deploy: the Kubernetes API of the project's clusters (no cluster admin, no
# IAM); image pushes are granted on the repository (registry module).
resource "google_project_iam_member" "deploy" {
  project = var.project_id
  role    = "roles/container.developer"
  member  = google_service_account.ci["deploy"].member
}

resource "google_project_iam_member" "terraform" {
  #checkov:skip=CKV_GCP_49:The identity that applies this configuration creates service accounts and their bindings (iam.serviceAccountAdmin); it is impersonable only from jobs in the infra environment, which needs a reviewer.
  for_each = toset(var.terraform_roles)

  project = var.project_id
  role    = each.value
  member  = google_service_account.ci["terraform"].member
}

resource "google_project_iam_member" "plan" {
  for_each = toset(local.plan_roles)

  project = var.project_id
  role    = each.value
  member  = google_service_account.ci["plan"].member
}

# Admin of the state bucket only: state objects, and the bucket's IAM policy,
# which this module sets (the two bindings here). Versioning and soft delete
# (bootstrap) keep a bad write recoverable.
resource "google_storage_bucket_iam_member" "state_write" {
  bucket = var.state_bucket
  role   = "roles/storage.admin"
  member = google_service_account.ci["terraform"].member
}

resource "google_storage_bucket_iam_member" "state_read" {
  bucket = var.state_bucket
  role   = "roles/storage.objectViewer"
  member = google_service_account.ci["plan"].member
}

# terraform applies node pools and clusters that run as the nodes' service
# account, so it must be allowed to act as that one account (not all of them).
resource "google_service_account_iam_member" "terraform_acts_as_nodes" {
  for_each = var.node_service_accounts

  service_account_id = each.value
  role               = "roles/iam.serviceAccountUser"
  member             = google_service_account.ci["terraform"].member
}
