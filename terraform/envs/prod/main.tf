# Production: the network, the Autopilot cluster (and optionally the SpinKube
# cluster), the image repository, the load balancer's addresses and
# certificate, and the keyless CI identities, wired together.

provider "google" {
  project        = var.project_id
  region         = var.region
  default_labels = local.labels
}

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  labels = {
    app         = var.name
    environment = "prod"
    managed-by  = "terraform"
  }

  # Images that may run (Binary Authorization): this environment's repository,
  # and for SpinKube the operator, shim installer and cert-manager images it
  # installs. In a name_pattern `*` stops at `/` and only a trailing `**`
  # crosses it: ghcr.io/spinkube/* would not admit
  # ghcr.io/spinkube/containerd-shim-spin/node-installer (make tf-check
  # matches these against k8s/schemas/spinkube-images.yaml).
  release_images = "${module.registry.repository_url}/*"
  spinkube_images = [
    "ghcr.io/spinkube/**",
    "ghcr.io/spinframework/**",
    "quay.io/jetstack/**",
  ]
}

module "network" {
  source = "../../modules/network"

  project_id = var.project_id
  region     = var.region
  name       = var.name
}

module "gke" {
  source = "../../modules/gke"

  project_id                        = var.project_id
  region                            = var.region
  name                              = var.name
  network_id                        = module.network.network_id
  subnet_id                         = module.network.subnet_id
  pods_range_name                   = module.network.pods_range_name
  services_range_name               = module.network.services_range_name
  control_plane_authorized_networks = var.control_plane_authorized_networks
  allowed_images                    = concat([local.release_images], var.spinkube_enabled ? local.spinkube_images : [])
  deletion_protection               = var.deletion_protection
  labels                            = local.labels

  spinkube = {
    enabled      = var.spinkube_enabled
    name         = "${var.name}-spin"
    machine_type = "e2-standard-2"
    # One node in each of two zones: two nodes in all (a regional pool's
    # node count is per zone).
    zones               = ["${var.region}-b", "${var.region}-c"]
    nodes_per_zone      = 1
    pods_range_name     = module.network.spin_pods_range_name
    services_range_name = module.network.spin_services_range_name
  }
}

module "registry" {
  source = "../../modules/registry"

  project_id    = var.project_id
  location      = var.region
  repository_id = var.name
  writers       = { deploy = module.ci_identity.deploy_member }
  readers       = { nodes = module.gke.node_service_account }
}

module "ingress" {
  source = "../../modules/ingress"

  project_id = var.project_id
  name       = var.name
  domain     = var.domain
}

module "alerting" {
  source = "../../modules/alerting"

  project_id         = var.project_id
  name               = var.name
  notification_email = var.alert_email
  rules_file         = "${path.root}/../../../observability/prometheus/rules/doc-proxy.rules.yml"
}

module "ci_identity" {
  source = "../../modules/ci-identity"

  project_id                 = var.project_id
  github_repository          = var.github_repository
  github_repository_id       = var.github_repository_id
  github_repository_owner_id = var.github_repository_owner_id
  state_bucket               = var.state_bucket
  node_service_accounts      = { nodes = module.gke.node_service_account_id }
}
