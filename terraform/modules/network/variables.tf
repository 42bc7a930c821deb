variable "project_id" {
  description = "GCP project that holds the network."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a GCP project ID: 6-30 lowercase letters, digits and hyphens."
  }
}

variable "region" {
  description = "Region of the subnet, the Cloud Router and the NAT gateway."
  type        = string

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "region must be a GCP region such as europe-west1."
  }
}

variable "name" {
  description = "Name of the VPC; the subnet, router, NAT and firewall rules are named after it."
  type        = string

  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{0,40}[a-z0-9])?$", var.name))
    error_message = "name must be a lowercase RFC 1035 label of at most 42 characters."
  }
}

variable "nodes_cidr" {
  description = "Primary IPv4 range of the subnet, used by the nodes."
  type        = string
  default     = "10.10.0.0/20"

  validation {
    condition     = can(cidrhost(var.nodes_cidr, 0))
    error_message = "nodes_cidr must be an IPv4 CIDR block."
  }
}

variable "pods_cidr" {
  description = "Secondary IPv4 range for Pods."
  type        = string
  default     = "10.20.0.0/16"

  validation {
    condition     = can(cidrhost(var.pods_cidr, 0))
    error_message = "pods_cidr must be an IPv4 CIDR block."
  }
}

variable "services_cidr" {
  description = "Secondary IPv4 range for Services."
  type        = string
  default     = "10.30.0.0/20"

  validation {
    condition     = can(cidrhost(var.services_cidr, 0))
    error_message = "services_cidr must be an IPv4 CIDR block."
  }
}

variable "spin_pods_cidr" {
  description = "Secondary IPv4 range for the SpinKube cluster's Pods (unused while that cluster is off)."
  type        = string
  default     = "10.40.0.0/16"

  validation {
    condition     = can(cidrhost(var.spin_pods_cidr, 0))
    error_message = "spin_pods_cidr must be an IPv4 CIDR block."
  }
}

variable "spin_services_cidr" {
  description = "Secondary IPv4 range for the SpinKube cluster's Services."
  type        = string
  default     = "10.30.16.0/20"

  validation {
    condition     = can(cidrhost(var.spin_services_cidr, 0))
    error_message = "spin_services_cidr must be an IPv4 CIDR block."
  }
}

variable "flow_log_sampling" {
  description = "Fraction of VPC flow records kept (0 to 1); flow logs are on because they are the only record of who talked to the nodes."
  type        = number
  default     = 0.5

  validation {
    condition     = var.flow_log_sampling > 0 && var.flow_log_sampling <= 1
    error_message = "flow_log_sampling must be in (0, 1]."
  }
}
