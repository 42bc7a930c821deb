# What the GKE Gateway (k8s/components/ingress) refers to by name: a reserved
# global IPv4 and IPv6 address, and a Certificate Manager map holding a
# Google-managed certificate for the domain. DNS authorization lets the
# certificate be issued before the domain points at the load balancer.

resource "google_compute_global_address" "ipv4" {
  project      = var.project_id
  name         = "${var.name}-ipv4"
  ip_version   = "IPV4"
  address_type = "EXTERNAL"
}

resource "google_compute_global_address" "ipv6" {
  project      = var.project_id
  name         = "${var.name}-ipv6"
  ip_version   = "IPV6"
  address_type = "EXTERNAL"
}

resource "google_certificate_manager_dns_authorization" "this" {
  project = var.project_id
  name    = var.name
  domain  = var.domain
}

resource "google_certificate_manager_certificate" "this" {
  project = var.project_id
  name    = var.name
  scope   = "DEFAULT"

  managed {
    domains            = [var.domain]
    dns_authorizations = [google_certificate_manager_dns_authorization.this.id]
  }
}

resource "google_certificate_manager_certificate_map" "this" {
  project = var.project_id
  name    = var.name
}

resource "google_certificate_manager_certificate_map_entry" "this" {
  project      = var.project_id
  name         = var.name
  map          = google_certificate_manager_certificate_map.this.name
  certificates = [google_certificate_manager_certificate.this.id]
  hostname     = var.domain
}
