variable "project_id" {
  description = "GCP project of the environment."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a GCP project ID: 6-30 lowercase letters, digits and hyphens."
  }
}

variable "region" {
  description = "Region of the cluster, the subnet and the image repository."
  type        = string

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "region must be a GCP region such as europe-west1."
  }
}

variable "state_bucket" {
  description = "The state bucket terraform/bootstrap made (its state_bucket output); the CI identities get access to it."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][-a-z0-9_.]{1,61}[a-z0-9]$", var.state_bucket))
    error_message = "state_bucket must be a GCS bucket name."
  }
}

variable "domain" {
  description = "Public host name of the service; its A/AAAA records point at the reserved addresses."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.domain))
    error_message = "domain must be a fully qualified lowercase host name."
  }
}

variable "github_repository" {
  description = "GitHub repository (OWNER/NAME) whose workflows release, deploy and apply."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$", var.github_repository))
    error_message = "github_repository must be OWNER/NAME."
  }
}

variable "github_repository_id" {
  description = "Numeric ID of the repository: gh api repos/OWNER/NAME --jq .id (the CI identities trust this ID, not the name)"
  type        = string

  validation {
    condition     = can(regex("^[0-9]+$", var.github_repository_id))
    error_message = "github_repository_id must be numeric."
  }
}

variable "github_repository_owner_id" {
  description = "Numeric ID of the repository's owner: gh api repos/OWNER/NAME --jq .owner.id"
  type        = string

  validation {
    condition     = can(regex("^[0-9]+$", var.github_repository_owner_id))
    error_message = "github_repository_owner_id must be numeric."
  }
}

variable "alert_email" {
  description = "Where doc-proxy's alerts are sent: the one e-mail address every alert policy notifies (modules/alerting)."
  type        = string

  validation {
    condition     = can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alert_email))
    error_message = "alert_email must be an e-mail address."
  }
}

variable "name" {
  description = "Name shared by the VPC, the cluster, the image repository and image, the addresses (NAME-ipv4/-ipv6), the certificate map and the Kubernetes namespace and service account: k8s/overlays/gke and the workflows use the same."
  type        = string
  default     = "doc-proxy"

  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{0,28}[a-z0-9])?$", var.name))
    error_message = "name must be a lowercase RFC 1035 label of at most 30 characters."
  }
}

variable "control_plane_authorized_networks" {
  description = "IPv4 ranges allowed to the clusters' IP endpoint; CI and kubectl use the DNS endpoint instead."
  type = list(object({
    name       = string
    cidr_block = string
  }))
  default = []
}

variable "spinkube_enabled" {
  description = "Also create the GKE Standard cluster with Ubuntu nodes for the SpinKube path (k8s/overlays/spinkube)."
  type        = bool
  default     = false
}

variable "deletion_protection" {
  description = "Refuse to destroy the clusters; set false only to tear the environment down."
  type        = bool
  default     = true
}
