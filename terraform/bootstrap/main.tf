# Run once per project, with local state, by a person with Owner on it:
# enables the APIs the environment uses and makes the versioned, private
# state bucket terraform/envs/prod stores its state in.

provider "google" {
  project = var.project_id
  region  = var.region
}

locals {
  state_bucket = coalesce(var.state_bucket, "${var.project_id}-tfstate")

  services = [
    "artifactregistry.googleapis.com",
    "binaryauthorization.googleapis.com",
    "certificatemanager.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "compute.googleapis.com",
    "container.googleapis.com",
    "containeranalysis.googleapis.com",
    "iam.googleapis.com",
    "iamcredentials.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "serviceusage.googleapis.com",
    "storage.googleapis.com",
    "sts.googleapis.com",
  ]
}

resource "google_project_service" "this" {
  for_each = toset(local.services)

  project = var.project_id
  service = each.value

  # Turning an API off on destroy would break whatever else uses it.
  disable_on_destroy = false
}

resource "google_storage_bucket" "state" {
  #checkov:skip=CKV_GCP_62:Access logs of the state bucket go to Cloud Audit Logs (Data Access logs for storage.googleapis.com); a second bucket for usage logs would need its own bucket and retention for no extra information.
  project                     = var.project_id
  name                        = local.state_bucket
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  versioning {
    enabled = true
  }

  # Earlier state versions are the undo of a bad apply. A noncurrent version
  # is deleted once noncurrent_versions_kept newer ones exist, or once it has
  # been noncurrent for noncurrent_days_kept days (either rule suffices).
  lifecycle_rule {
    condition {
      num_newer_versions = var.noncurrent_versions_kept
      with_state         = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = var.noncurrent_days_kept
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  soft_delete_policy {
    retention_duration_seconds = 604800
  }

  depends_on = [google_project_service.this]
}
