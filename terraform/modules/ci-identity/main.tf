# Keyless access for GitHub Actions: a Workload Identity pool trusting
# GitHub's OIDC issuer for one repository (by name and owner ID), and three
# service accounts, each impersonable only from one kind of job:
#
#   deploy     pushes to the release repository (push to the release branch)
#              and deploys to the cluster (jobs in the deploy environment);
#   terraform  applies terraform/envs/prod (jobs in the infra environment);
#   plan       reads the project and the state for PR plans (pull_request).
#
# No service account key is created anywhere; the org policy
# iam.disableServiceAccountKeyCreation can stay on.

locals {
  subject_prefix = "repo:${var.github_repository}"
  principal      = "principal://iam.googleapis.com/${google_iam_workload_identity_pool.github.name}/subject"

  # The jobs that may get a Google token, by their OIDC subject claim. A job
  # in an environment has sub repo:OWNER/NAME:environment:ENV; a push job
  # without one has repo:OWNER/NAME:ref:refs/heads/BRANCH; a pull request's
  # job has repo:OWNER/NAME:pull_request (never from a fork: forks get no
  # OIDC token).
  subjects = {
    release = "${local.subject_prefix}:ref:refs/heads/${var.release_branch}"
    deploy  = "${local.subject_prefix}:environment:${var.deploy_environment}"
    apply   = "${local.subject_prefix}:environment:${var.infra_environment}"
    plan    = "${local.subject_prefix}:pull_request"
  }

  # Which subject may impersonate which account.
  impersonators = {
    deploy_release  = { account = "deploy", subject = local.subjects.release }
    deploy_env      = { account = "deploy", subject = local.subjects.deploy }
    terraform_apply = { account = "terraform", subject = local.subjects.apply }
    terraform_plan  = { account = "plan", subject = local.subjects.plan }
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
  #checkov:skip=CKV_GCP_125:The condition pins assertion.sub to the four subjects in local.subjects (each repo:OWNER/NAME:…) plus the owner ID; checkov cannot evaluate the for expression that joins them and so sees no sub condition.
  project                            = var.project_id
  workload_identity_pool_id          = google_iam_workload_identity_pool.github.workload_identity_pool_id
  workload_identity_pool_provider_id = var.provider_id
  display_name                       = "GitHub OIDC"

  attribute_mapping = {
    "google.subject"       = "assertion.sub"
    "attribute.repository" = "assertion.repository"
    "attribute.ref"        = "assertion.ref"
  }

  # Tokens of any other repository, or of any other job, are refused before
  # any service account binding is looked at.
  attribute_condition = "assertion.repository_owner_id == '${var.github_repository_owner_id}' && (${join(" || ", [for s in values(local.subjects) : "assertion.sub == '${s}'"])})"

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
  member             = "${local.principal}/${each.value.subject}"
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
