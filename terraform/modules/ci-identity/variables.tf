variable "project_id" {
  description = "GCP project of the pool and the service accounts."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a GCP project ID: 6-30 lowercase letters, digits and hyphens."
  }
}

variable "github_repository" {
  description = "The only GitHub repository whose workflows may use these identities, as OWNER/NAME."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$", var.github_repository))
    error_message = "github_repository must be OWNER/NAME."
  }
}

variable "github_repository_owner_id" {
  description = "Numeric ID of the repository's owner (`gh api repos/OWNER/NAME --jq .owner.id`); a deleted and re-registered owner name gets a new ID, so it cannot take over the identities."
  type        = string

  validation {
    condition     = can(regex("^[0-9]+$", var.github_repository_owner_id))
    error_message = "github_repository_owner_id must be the numeric owner ID."
  }
}

variable "github_repository_id" {
  description = "Numeric ID of the repository (`gh api repos/OWNER/NAME --jq .id`): the provider trusts tokens of this ID only, which a rename, a transfer or a re-registered name does not carry."
  type        = string

  validation {
    condition     = can(regex("^[0-9]+$", var.github_repository_id))
    error_message = "github_repository_id must be the numeric repository ID."
  }
}

variable "release_branch" {
  description = "Branch whose pushes may publish images (release.yml)."
  type        = string
  default     = "main"

  validation {
    condition     = length(var.release_branch) > 0 && !strcontains(var.release_branch, "*")
    error_message = "release_branch must be one branch name, not a pattern."
  }
}

variable "deploy_environment" {
  description = "GitHub environment (with required reviewers) whose jobs may deploy to the cluster."
  type        = string
  default     = "production"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]+$", var.deploy_environment))
    error_message = "deploy_environment must be a GitHub environment name."
  }
}

variable "infra_environment" {
  description = "GitHub environment (with required reviewers) whose jobs may run terraform apply. Separate from deploy_environment, so a deploy job cannot change the infrastructure."
  type        = string
  default     = "production-infra"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]+$", var.infra_environment))
    error_message = "infra_environment must be a GitHub environment name."
  }
}

variable "pool_id" {
  description = "ID of the Workload Identity pool."
  type        = string
  default     = "github"

  validation {
    condition     = can(regex("^[a-z0-9-]{4,32}$", var.pool_id))
    error_message = "pool_id must be 4-32 lowercase letters, digits and hyphens."
  }
}

variable "provider_id" {
  description = "ID of the pool's OIDC provider for GitHub."
  type        = string
  default     = "github"

  validation {
    condition     = can(regex("^[a-z0-9-]{4,32}$", var.provider_id))
    error_message = "provider_id must be 4-32 lowercase letters, digits and hyphens."
  }
}

variable "deploy_account_id" {
  description = "Account ID of the service account that publishes images and deploys."
  type        = string
  default     = "doc-proxy-deploy"

  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{4,28}[a-z0-9]$", var.deploy_account_id))
    error_message = "deploy_account_id must be 6-30 lowercase letters, digits and hyphens."
  }
}

variable "state_bucket" {
  description = "Terraform state bucket (bootstrap output): the plan identity reads it, the apply identity writes it."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][-a-z0-9_.]{1,61}[a-z0-9]$", var.state_bucket))
    error_message = "state_bucket must be a GCS bucket name."
  }
}

variable "terraform_roles" {
  description = "Project roles of the identity that applies terraform/envs/prod: what the modules create, and no basic roles."
  type        = list(string)
  default = [
    "roles/artifactregistry.admin",
    "roles/binaryauthorization.policyEditor",
    "roles/browser",
    "roles/certificatemanager.owner",
    "roles/compute.networkAdmin",
    "roles/compute.securityAdmin",
    "roles/container.admin",
    "roles/iam.serviceAccountAdmin",
    "roles/iam.workloadIdentityPoolAdmin",
    "roles/monitoring.alertPolicyEditor",
    "roles/monitoring.notificationChannelEditor",
    "roles/resourcemanager.projectIamAdmin",
  ]

  validation {
    condition     = length(setintersection(var.terraform_roles, ["roles/owner", "roles/editor"])) == 0
    error_message = "terraform_roles must not hold basic roles (owner, editor)."
  }
}

variable "node_service_accounts" {
  description = "Service accounts (projects/PROJECT/serviceAccounts/EMAIL, by a fixed key) that clusters run as; the terraform identity may act as these only."
  type        = map(string)
  default     = {}
}
