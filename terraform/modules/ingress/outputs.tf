output "address_names" {
  description = "Names of the reserved addresses, the NamedAddress values of the two Gateways (one each: IPv4, IPv6)."
  value       = [google_compute_global_address.ipv4.name, google_compute_global_address.ipv6.name]
}

output "ipv4_address" {
  description = "Reserved IPv4 address: the domain's A record."
  value       = google_compute_global_address.ipv4.address
}

output "ipv6_address" {
  description = "Reserved IPv6 address: the domain's AAAA record."
  value       = google_compute_global_address.ipv6.address
}

output "certificate_map" {
  description = "Name of the certificate map, as the Gateway's networking.gke.io/certmap annotation."
  value       = google_certificate_manager_certificate_map.this.name
}

output "dns_authorization_record" {
  description = "CNAME record to create so the managed certificate can be issued."
  value = {
    name = google_certificate_manager_dns_authorization.this.dns_resource_record[0].name
    type = google_certificate_manager_dns_authorization.this.dns_resource_record[0].type
    data = google_certificate_manager_dns_authorization.this.dns_resource_record[0].data
  }
}
