variable "project_id" {
  description = "The (empty) GCP project to prepare."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a GCP project ID: 6-30 lowercase letters, digits and hyphens."
  }
}

variable "region" {
  description = "Location of the state bucket; the environment's region keeps state near its resources."
  type        = string

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "region must be a GCP region such as europe-west1."
  }
}

variable "state_bucket" {
  description = "Name of the state bucket; globally unique, so the default adds the project ID."
  type        = string
  default     = null

  validation {
    condition     = var.state_bucket == null || can(regex("^[a-z0-9][-a-z0-9_.]{1,61}[a-z0-9]$", var.state_bucket))
    error_message = "state_bucket must be a GCS bucket name."
  }
}

variable "noncurrent_versions_kept" {
  description = "Earlier versions of each state file kept, to recover from a bad apply."
  type        = number
  default     = 20

  validation {
    condition     = var.noncurrent_versions_kept >= 1
    error_message = "Keep at least one earlier state version."
  }
}

variable "noncurrent_days_kept" {
  description = "Days an earlier state version is kept after it stopped being current."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_days_kept >= 7
    error_message = "noncurrent_days_kept must be at least 7."
  }
}
