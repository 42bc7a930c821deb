# The Autopilot cluster that runs doc-proxy as a wrapping container, and an
# optional Standard cluster with Ubuntu nodes for the SpinKube path.
#
# Both: private nodes, dual-stack Pods and Services, Workload Identity,
# Managed Service for Prometheus, a release channel with a maintenance
# window, and Binary Authorization enforcing an allow-list of images (our
# release repository plus Google's system images). The control plane is
# reached through its DNS endpoint, which IAM guards, so GitHub's runners can
# deploy without an IP allow-list and without a bastion.

locals {
  workload_pool = "${var.project_id}.svc.id.goog"

  # What a node's service account needs to write logs and metrics; image pulls
  # are granted on the repository itself (registry module, readers).
  node_roles = [
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/monitoring.viewer",
    "roles/stackdriver.resourceMetadata.writer",
    "roles/autoscaling.metricsWriter",
  ]
}

resource "google_service_account" "nodes" {
  project      = var.project_id
  account_id   = "${var.name}-nodes"
  display_name = "GKE nodes of ${var.name} (logs, metrics, image pulls)"
}

resource "google_project_iam_member" "nodes" {
  for_each = toset(local.node_roles)

  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.nodes.email}"
}

resource "google_container_cluster" "autopilot" {
  #checkov:skip=CKV_GCP_65:RBAC through Google Groups needs a Workspace/Cloud Identity domain this project may not have; access is granted to IAM principals instead.
  #checkov:skip=CKV_GCP_12:Autopilot always runs GKE Dataplane V2, which enforces NetworkPolicy; the network_policy block configures the Calico add-on, which Autopilot does not use.
  #checkov:skip=CKV_GCP_61:Autopilot manages intranode visibility itself and does not accept the setting; VPC flow logs are on in the subnet (network module).
  #checkov:skip=CKV_GCP_69:Autopilot always serves the GKE metadata server to Pods (Workload Identity); node_config, where the check looks, cannot be set on Autopilot.
  project             = var.project_id
  name                = var.name
  location            = var.region
  enable_autopilot    = true
  network             = var.network_id
  subnetwork          = var.subnet_id
  deletion_protection = var.deletion_protection
  resource_labels     = { cluster = var.name }

  ip_allocation_policy {
    stack_type                    = "IPV4_IPV6"
    cluster_secondary_range_name  = var.pods_range_name
    services_secondary_range_name = var.services_range_name
  }

  private_cluster_config {
    enable_private_nodes    = true
    enable_private_endpoint = false
  }

  control_plane_endpoints_config {
    dns_endpoint_config {
      allow_external_traffic = true
    }
  }

  master_authorized_networks_config {
    gcp_public_cidrs_access_enabled = false

    dynamic "cidr_blocks" {
      for_each = var.control_plane_authorized_networks
      content {
        display_name = cidr_blocks.value.name
        cidr_block   = cidr_blocks.value.cidr_block
      }
    }
  }

  release_channel {
    channel = var.release_channel
  }

  maintenance_policy {
    recurring_window {
      start_time = var.maintenance_window.start_time
      end_time   = var.maintenance_window.end_time
      recurrence = var.maintenance_window.recurrence
    }
  }

  # Cloud DNS is the cluster's DNS provider (Autopilot's default, set here
  # so it is stated; the Standard cluster uses the same): pods send their
  # queries to the node's metadata server, 169.254.169.254 port 53, which the
  # NetworkPolicies admit (k8s/base/doc-proxy/networkpolicy.yaml; make
  # k8s-check holds the two together).
  dns_config {
    cluster_dns       = "CLOUD_DNS"
    cluster_dns_scope = "CLUSTER_SCOPE"
  }

  workload_identity_config {
    workload_pool = local.workload_pool
  }

  binary_authorization {
    evaluation_mode = "PROJECT_SINGLETON_POLICY_ENFORCE"
  }

  monitoring_config {
    managed_prometheus {
      enabled = true
    }
  }

  cluster_autoscaling {
    auto_provisioning_defaults {
      service_account = google_service_account.nodes.email
      oauth_scopes    = ["https://www.googleapis.com/auth/cloud-platform"]
    }
  }

  master_auth {
    client_certificate_config {
      issue_client_certificate = false
    }
  }

  depends_on = [google_project_iam_member.nodes]
}

# Only images from the allow-list run (plus Google-maintained system images,
# through the global policy); everything else is refused at admission and the
# refusal is logged. The release pipeline deploys by digest from the
# repository on the list.
resource "google_binary_authorization_policy" "this" {
  project                       = var.project_id
  global_policy_evaluation_mode = "ENABLE"

  dynamic "admission_whitelist_patterns" {
    for_each = var.allowed_images
    content {
      name_pattern = admission_whitelist_patterns.value
    }
  }

  default_admission_rule {
    evaluation_mode  = "ALWAYS_DENY"
    enforcement_mode = "ENFORCED_BLOCK_AND_AUDIT_LOG"
  }
}

# --- SpinKube path (optional) ------------------------------------------------
# The settings shared with the Autopilot cluster are repeated rather than
# folded into one for_each resource: the two kinds accept different blocks
# (node_config, network_policy, logging components), and checkov judges each
# resource on its own literal configuration.

resource "google_container_cluster" "spinkube" {
  #checkov:skip=CKV_GCP_65:RBAC through Google Groups needs a Workspace/Cloud Identity domain this project may not have; access is granted to IAM principals instead.
  count = var.spinkube.enabled ? 1 : 0

  project             = var.project_id
  name                = var.spinkube.name
  location            = var.region
  network             = var.network_id
  subnetwork          = var.subnet_id
  deletion_protection = var.deletion_protection
  resource_labels     = { cluster = var.spinkube.name }

  # Node pools are managed below, so the cluster's default pool goes at once.
  remove_default_node_pool = true
  initial_node_count       = 1

  networking_mode             = "VPC_NATIVE"
  enable_intranode_visibility = true
  enable_shielded_nodes       = true
  enable_legacy_abac          = false
  datapath_provider           = "ADVANCED_DATAPATH"

  # Dataplane V2 (above) enforces NetworkPolicy; the Calico add-on stays off.
  network_policy {
    enabled = false
  }

  ip_allocation_policy {
    stack_type                    = "IPV4_IPV6"
    cluster_secondary_range_name  = var.spinkube.pods_range_name
    services_secondary_range_name = var.spinkube.services_range_name
  }

  private_cluster_config {
    enable_private_nodes    = true
    enable_private_endpoint = false
  }

  control_plane_endpoints_config {
    dns_endpoint_config {
      allow_external_traffic = true
    }
  }

  master_authorized_networks_config {
    gcp_public_cidrs_access_enabled = false

    dynamic "cidr_blocks" {
      for_each = var.control_plane_authorized_networks
      content {
        display_name = cidr_blocks.value.name
        cidr_block   = cidr_blocks.value.cidr_block
      }
    }
  }

  release_channel {
    channel = var.release_channel
  }

  maintenance_policy {
    recurring_window {
      start_time = var.maintenance_window.start_time
      end_time   = var.maintenance_window.end_time
      recurrence = var.maintenance_window.recurrence
    }
  }

  # Cloud DNS is the cluster's DNS provider (Autopilot's default, set here
  # so it is stated; the Standard cluster uses the same): pods send their
  # queries to the node's metadata server, 169.254.169.254 port 53, which the
  # NetworkPolicies admit (k8s/base/doc-proxy/networkpolicy.yaml; make
  # k8s-check holds the two together).
  dns_config {
    cluster_dns       = "CLOUD_DNS"
    cluster_dns_scope = "CLUSTER_SCOPE"
  }

  workload_identity_config {
    workload_pool = local.workload_pool
  }

  binary_authorization {
    evaluation_mode = "PROJECT_SINGLETON_POLICY_ENFORCE"
  }

  logging_config {
    enable_components = ["SYSTEM_COMPONENTS", "WORKLOADS"]
  }

  monitoring_config {
    enable_components = ["SYSTEM_COMPONENTS"]
    managed_prometheus {
      enabled = true
    }
  }

  master_auth {
    client_certificate_config {
      issue_client_certificate = false
    }
  }

  node_config {
    service_account = google_service_account.nodes.email
    oauth_scopes    = ["https://www.googleapis.com/auth/cloud-platform"]
    shielded_instance_config {
      enable_secure_boot          = true
      enable_integrity_monitoring = true
    }
    workload_metadata_config {
      mode = "GKE_METADATA"
    }
  }

  depends_on = [google_project_iam_member.nodes]
}

resource "google_container_node_pool" "spinkube" {
  #checkov:skip=CKV_GCP_22:The Spin containerd shim is installed onto the node (runtime-class-manager or kwasm); Container-Optimized OS has a read-only /usr and cannot take it, so this pool uses Ubuntu.
  count = var.spinkube.enabled ? 1 : 0

  project  = var.project_id
  name     = "spin-ubuntu"
  location = var.region
  cluster  = google_container_cluster.spinkube[0].name
  # A regional pool's node_count is per zone: nodes_per_zone in each of the
  # listed zones, not in all three of the region's.
  node_locations = var.spinkube.zones
  node_count     = var.spinkube.nodes_per_zone

  management {
    auto_repair  = true
    auto_upgrade = true
  }

  node_config {
    machine_type    = var.spinkube.machine_type
    image_type      = "UBUNTU_CONTAINERD"
    service_account = google_service_account.nodes.email
    oauth_scopes    = ["https://www.googleapis.com/auth/cloud-platform"]
    resource_labels = var.labels

    # runtime-class-manager installs the shim on nodes its Shim selects
    # (spin=true in its spin-v2 sample), and the RuntimeClass schedules Spin
    # pods onto the same label (k8s/overlays/spinkube/runtimeclass.yaml).
    labels = {
      spin = "true"
    }

    shielded_instance_config {
      enable_secure_boot          = true
      enable_integrity_monitoring = true
    }

    workload_metadata_config {
      mode = "GKE_METADATA"
    }

    metadata = {
      disable-legacy-endpoints = "true"
    }
  }
}
