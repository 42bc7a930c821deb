output "network_id" {
  description = "ID of the VPC, for the cluster's network argument."
  value       = google_compute_network.this.id
}

output "network_name" {
  description = "Name of the VPC."
  value       = google_compute_network.this.name
}

output "subnet_id" {
  description = "ID of the dual-stack subnet, for the cluster's subnetwork argument."
  value       = google_compute_subnetwork.nodes.id
}

output "pods_range_name" {
  description = "Name of the secondary range for Pods."
  value       = local.pods_range_name
}

output "services_range_name" {
  description = "Name of the secondary range for Services."
  value       = local.services_range_name
}

output "spin_pods_range_name" {
  description = "Name of the secondary range for the SpinKube cluster's Pods."
  value       = local.spin_pods_range_name
}

output "spin_services_range_name" {
  description = "Name of the secondary range for the SpinKube cluster's Services."
  value       = local.spin_services_range_name
}
