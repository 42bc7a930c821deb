output "cluster_name" {
  description = "Name of the Autopilot cluster (get-gke-credentials cluster_name)."
  value       = google_container_cluster.autopilot.name
}

output "cluster_location" {
  description = "Region of the Autopilot cluster (get-gke-credentials location)."
  value       = google_container_cluster.autopilot.location
}

output "cluster_dns_endpoint" {
  description = "DNS name of the control plane's IAM-guarded endpoint."
  value       = google_container_cluster.autopilot.control_plane_endpoints_config[0].dns_endpoint_config[0].endpoint
}

output "workload_pool" {
  description = "Workload Identity pool of the clusters (PROJECT.svc.id.goog)."
  value       = local.workload_pool
}

output "node_service_account" {
  description = "IAM member of the nodes' service account, to grant image pulls on the repository."
  value       = "serviceAccount:${google_service_account.nodes.email}"
}

output "spinkube_cluster_name" {
  description = "Name of the SpinKube Standard cluster, or null when it is off."
  value       = var.spinkube.enabled ? google_container_cluster.spinkube[0].name : null
}

output "node_service_account_id" {
  description = "Resource name of the nodes' service account (projects/PROJECT/serviceAccounts/EMAIL)."
  value       = google_service_account.nodes.name
}
