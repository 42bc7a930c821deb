variable "project_id" {
  description = "GCP project that holds the repository."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a GCP project ID: 6-30 lowercase letters, digits and hyphens."
  }
}

variable "location" {
  description = "Region of the repository; the same region as the cluster keeps pulls local and free."
  type        = string

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.location))
    error_message = "location must be a GCP region such as europe-west1."
  }
}

variable "repository_id" {
  description = "Name of the Docker repository (the third part of LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$", var.repository_id))
    error_message = "repository_id must be lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "keep_recent_versions" {
  description = "Newest image versions the dry-run KEEP policy names (nothing is deleted while the repository's cleanup is in dry run)."
  type        = number
  default     = 20

  validation {
    condition     = var.keep_recent_versions >= 5
    error_message = "keep_recent_versions must be at least 5: rollbacks need earlier releases."
  }
}

variable "delete_after_days" {
  description = "Tagged versions older than this (and not among the newest kept) are what the dry-run DELETE policy reports."
  type        = number
  default     = 90

  validation {
    condition     = var.delete_after_days >= 7
    error_message = "delete_after_days must be at least 7."
  }
}

variable "writers" {
  description = "Members allowed to push to this repository only, by a fixed key (for_each needs keys known at plan time; the e-mail of a service account made in the same apply is not)."
  type        = map(string)
  default     = {}
}

variable "readers" {
  description = "Members allowed to pull from this repository only (the cluster's node service account), by a fixed key."
  type        = map(string)
  default     = {}
}
