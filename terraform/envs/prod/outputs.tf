# What the workflows and k8s/overlays/gke need; scripts/names/check.py reads
# these and fails when the workflows or the overlay disagree.

output "project_id" {
  description = "GCP project (workflows: GCP_PROJECT)."
  value       = var.project_id
}

output "project_number" {
  description = "Project number, part of the Workload Identity provider's name (repository variable GCP_PROJECT_NUMBER)."
  value       = data.google_project.this.number
}

output "region" {
  description = "Region of the cluster and the repository (workflows: GCP_REGION)."
  value       = var.region
}

output "image" {
  description = "Image name releases are pushed to (workflows: IMAGE; overlay: images[].newName)."
  value       = "${module.registry.repository_url}/${var.name}"
}

output "cluster_name" {
  description = "Autopilot cluster (workflows: GKE_CLUSTER)."
  value       = module.gke.cluster_name
}

output "spinkube_cluster_name" {
  description = "SpinKube Standard cluster, or null when spinkube_enabled is false."
  value       = module.gke.spinkube_cluster_name
}

output "kubernetes_namespace" {
  description = "Namespace doc-proxy runs in (workflows: K8S_NAMESPACE; overlay: the Namespace)."
  value       = var.name
}

output "kubernetes_service_account" {
  description = "Kubernetes service account of the pods (overlay: the ServiceAccount)."
  value       = var.name
}

output "workload_principal" {
  description = "IAM principal of the doc-proxy pods (Workload Identity), for any Google API access they are granted later; none today."
  value       = "principal://iam.googleapis.com/projects/${data.google_project.this.number}/locations/global/workloadIdentityPools/${module.gke.workload_pool}/subject/ns/${var.name}/sa/${var.name}"
}

output "workload_identity_provider" {
  description = "Provider the auth action exchanges GitHub's token with (workflows: WIF_PROVIDER)."
  value       = module.ci_identity.workload_identity_provider
}

output "deploy_service_account" {
  description = "Service account release.yml and deploy.yml impersonate (workflows: DEPLOY_SA)."
  value       = module.ci_identity.deploy_service_account
}

output "terraform_service_account" {
  description = "Service account terraform.yml applies as (workflows: TERRAFORM_SA)."
  value       = module.ci_identity.terraform_service_account
}

output "plan_service_account" {
  description = "Read-only service account terraform.yml plans pull requests as (workflows: PLAN_SA)."
  value       = module.ci_identity.plan_service_account
}

output "address_names" {
  description = "Reserved addresses (overlay: the Gateway's NamedAddress values)."
  value       = module.ingress.address_names
}

output "certificate_map" {
  description = "Certificate map (overlay: the Gateway's networking.gke.io/certmap annotation)."
  value       = module.ingress.certificate_map
}

output "dns_records" {
  description = "DNS records to create at the domain's DNS host: A, AAAA and the certificate's authorization CNAME."
  value = {
    a             = { name = var.domain, data = module.ingress.ipv4_address }
    aaaa          = { name = var.domain, data = module.ingress.ipv6_address }
    authorization = module.ingress.dns_authorization_record
  }
}

output "cluster_dns_endpoint" {
  description = "IAM-guarded DNS endpoint of the Autopilot control plane."
  value       = module.gke.cluster_dns_endpoint
}

output "alert_notification_channel" {
  description = "The e-mail notification channel every alert policy sends to (alert_email)."
  value       = module.alerting.notification_channel
}
