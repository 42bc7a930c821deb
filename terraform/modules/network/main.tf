# A custom-mode VPC with one dual-stack subnet for GKE: IPv4 nodes plus
# secondary ranges for Pods and Services, internal (ULA) IPv6 for dual-stack
# Pods and Services. Private nodes reach the internet through Cloud NAT and
# Google APIs (Artifact Registry included) through Private Google Access.

locals {
  pods_range_name     = "${var.name}-pods"
  services_range_name = "${var.name}-services"
  # A second cluster in the subnet needs secondary ranges of its own: GKE
  # refuses a Pod range that another cluster already uses.
  spin_pods_range_name     = "${var.name}-spin-pods"
  spin_services_range_name = "${var.name}-spin-services"

  # Google's load balancer and health-check source ranges
  # (https://cloud.google.com/load-balancing/docs/health-check-concepts#ip-ranges).
  health_check_ipv4 = ["35.191.0.0/16", "130.211.0.0/22"]
  health_check_ipv6 = ["2600:2d00:1:b029::/64", "2600:2d00:1:1::/64"]
  # The ports the load balancer health-checks and forwards to: the service
  # (8080) and the admin listener with /readyz (9090).
  backend_ports = ["8080", "9090"]
}

resource "google_compute_network" "this" {
  project                  = var.project_id
  name                     = var.name
  auto_create_subnetworks  = false
  routing_mode             = "REGIONAL"
  enable_ula_internal_ipv6 = true
}

resource "google_compute_subnetwork" "nodes" {
  project                    = var.project_id
  name                       = "${var.name}-${var.region}"
  region                     = var.region
  network                    = google_compute_network.this.id
  ip_cidr_range              = var.nodes_cidr
  stack_type                 = "IPV4_IPV6"
  ipv6_access_type           = "INTERNAL"
  private_ip_google_access   = true
  private_ipv6_google_access = "ENABLE_OUTBOUND_VM_ACCESS_TO_GOOGLE"

  secondary_ip_range {
    range_name    = local.pods_range_name
    ip_cidr_range = var.pods_cidr
  }

  secondary_ip_range {
    range_name    = local.services_range_name
    ip_cidr_range = var.services_cidr
  }

  secondary_ip_range {
    range_name    = local.spin_pods_range_name
    ip_cidr_range = var.spin_pods_cidr
  }

  secondary_ip_range {
    range_name    = local.spin_services_range_name
    ip_cidr_range = var.spin_services_cidr
  }

  log_config {
    aggregation_interval = "INTERVAL_10_MIN"
    flow_sampling        = var.flow_log_sampling
    metadata             = "INCLUDE_ALL_METADATA"
  }
}

resource "google_compute_router" "this" {
  project = var.project_id
  name    = "${var.name}-${var.region}"
  region  = var.region
  network = google_compute_network.this.id
}

resource "google_compute_router_nat" "this" {
  project                            = var.project_id
  name                               = "${var.name}-${var.region}"
  region                             = var.region
  router                             = google_compute_router.this.name
  nat_ip_allocate_option             = "AUTO_ONLY"
  source_subnetwork_ip_ranges_to_nat = "LIST_OF_SUBNETWORKS"

  subnetwork {
    name                    = google_compute_subnetwork.nodes.id
    source_ip_ranges_to_nat = ["ALL_IP_RANGES"]
  }

  log_config {
    enable = true
    filter = "ERRORS_ONLY"
  }
}

# Ingress is denied by the VPC's implied rule; these open only the backend
# ports, only to Google's load balancers and health checkers. GKE adds its own
# rules for the control plane.
# One rule per address family: a rule cannot mix IPv4 and IPv6 ranges.
resource "google_compute_firewall" "lb" {
  for_each = { ipv4 = local.health_check_ipv4, ipv6 = local.health_check_ipv6 }

  project       = var.project_id
  name          = "${var.name}-allow-lb-${each.key}"
  network       = google_compute_network.this.id
  direction     = "INGRESS"
  source_ranges = each.value

  allow {
    protocol = "tcp"
    ports    = local.backend_ports
  }

  log_config {
    metadata = "INCLUDE_ALL_METADATA"
  }
}

# Explicit and logged, so denied attempts show up in Cloud Logging (the
# implied deny-all rule logs nothing). GKE's own allow rules sit at priority
# 1000.
resource "google_compute_firewall" "deny_ingress" {
  for_each = { ipv4 = "0.0.0.0/0", ipv6 = "::/0" }

  project       = var.project_id
  name          = "${var.name}-deny-ingress-${each.key}"
  network       = google_compute_network.this.id
  direction     = "INGRESS"
  priority      = 65534
  source_ranges = [each.value]

  deny {
    protocol = "all"
  }

  log_config {
    metadata = "INCLUDE_ALL_METADATA"
  }
}
