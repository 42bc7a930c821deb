variable "project_id" {
  description = "GCP project that holds the addresses and the certificate."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a GCP project ID: 6-30 lowercase letters, digits and hyphens."
  }
}

variable "name" {
  description = "Base name: the addresses are NAME-ipv4 and NAME-ipv6, the certificate map NAME. The k8s ingress component refers to these names."
  type        = string

  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{0,50}[a-z0-9])?$", var.name))
    error_message = "name must be a lowercase RFC 1035 label of at most 52 characters."
  }
}

variable "domain" {
  description = "Public host name the service answers on (e.g. docs.example.com); the managed certificate covers it."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.domain))
    error_message = "domain must be a fully qualified lowercase host name."
  }
}
