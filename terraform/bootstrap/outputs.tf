output "state_bucket" {
  description = "State bucket: terraform/envs/prod's backend.hcl bucket and its state_bucket variable."
  value       = google_storage_bucket.state.name
}

output "enabled_services" {
  description = "APIs enabled on the project."
  value       = sort([for s in google_project_service.this : s.service])
}
