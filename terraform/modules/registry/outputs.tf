output "repository_id" {
  description = "Name of the repository."
  value       = google_artifact_registry_repository.this.repository_id
}

output "repository_url" {
  description = "Registry path images are pushed to: LOCATION-docker.pkg.dev/PROJECT/REPOSITORY."
  value       = "${var.location}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.this.repository_id}"
}

output "registry_host" {
  description = "Host name docker logs in to."
  value       = "${var.location}-docker.pkg.dev"
}
