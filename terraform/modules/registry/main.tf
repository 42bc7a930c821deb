# The Docker repository releases are pushed to (by digest), with cleanup
# policies in dry run (evaluated and logged, nothing deleted), and
# repository-scoped IAM so the CI identity can push here and nowhere else.

resource "google_artifact_registry_repository" "this" {
  #checkov:skip=CKV_GCP_84:Google-managed encryption; a customer-managed key adds a KMS key ring and rotation to run for public, non-secret images.
  project       = var.project_id
  location      = var.location
  repository_id = var.repository_id
  description   = "doc-proxy container images (host + precompiled components), pushed by release.yml."
  format        = "DOCKER"

  docker_config {
    # Releases are referenced by digest; tags (the commit SHA) never move.
    immutable_tags = true
  }

  # Nothing is deleted: every release stays pullable. A release is an OCI
  # index whose platform image and attestation manifests (SBOM, provenance)
  # are untagged versions of their own, and the digest a pod runs may be the
  # oldest one (deploy.yml deploys any release by hand), which no age or
  # count condition can tell. The policies below run in dry run, so
  # Artifact Registry reports what they would delete without deleting it;
  # read that before ever turning deletion on (make tf-check fails a DELETE
  # policy outside dry run, and any that would match untagged versions).
  cleanup_policy_dry_run = true

  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"

    most_recent_versions {
      keep_count = var.keep_recent_versions
    }
  }

  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"

    condition {
      tag_state  = "TAGGED"
      older_than = "${var.delete_after_days * 86400}s"
    }
  }
}

locals {
  # Repository-scoped grants: pushes for the writers, pulls for the readers.
  bindings = merge(
    { for key, member in var.writers : "writer-${key}" => { role = "roles/artifactregistry.writer", member = member } },
    { for key, member in var.readers : "reader-${key}" => { role = "roles/artifactregistry.reader", member = member } },
  )
}

resource "google_artifact_registry_repository_iam_member" "this" {
  for_each = local.bindings

  project    = var.project_id
  location   = var.location
  repository = google_artifact_registry_repository.this.name
  role       = each.value.role
  member     = each.value.member
}
