output "workload_identity_provider" {
  description = "Full resource name of the provider, the auth action's workload_identity_provider."
  value       = google_iam_workload_identity_pool_provider.github.name
}

output "deploy_service_account" {
  description = "E-mail of the service account release.yml and deploy.yml impersonate."
  value       = google_service_account.ci["deploy"].email
}

output "deploy_member" {
  description = "IAM member of the deploy service account, to grant pushes on the repository."
  value       = google_service_account.ci["deploy"].member
}

output "terraform_service_account" {
  description = "E-mail of the service account terraform.yml impersonates to apply."
  value       = google_service_account.ci["terraform"].email
}

output "plan_service_account" {
  description = "E-mail of the read-only service account terraform.yml impersonates to plan pull requests."
  value       = google_service_account.ci["plan"].email
}
