variable "project_id" {
  description = "GCP project that holds the cluster."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a GCP project ID: 6-30 lowercase letters, digits and hyphens."
  }
}

variable "region" {
  description = "Region of the (regional) Autopilot cluster; nodes spread over its zones."
  type        = string

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "region must be a GCP region such as europe-west1."
  }
}

variable "name" {
  description = "Name of the Autopilot cluster that runs the wrapping container."
  type        = string

  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$", var.name))
    error_message = "name must be a lowercase RFC 1035 label of at most 40 characters."
  }
}

variable "network_id" {
  description = "VPC the cluster joins (network module output network_id)."
  type        = string
}

variable "subnet_id" {
  description = "Dual-stack subnet the nodes use (network module output subnet_id)."
  type        = string
}

variable "pods_range_name" {
  description = "Secondary range of the subnet for Pod IPv4 addresses."
  type        = string
}

variable "services_range_name" {
  description = "Secondary range of the subnet for Service IPv4 addresses."
  type        = string
}

variable "release_channel" {
  description = "GKE release channel; REGULAR gets fixes a few weeks after RAPID has tried them."
  type        = string
  default     = "REGULAR"

  validation {
    condition     = contains(["RAPID", "REGULAR", "STABLE"], var.release_channel)
    error_message = "release_channel must be RAPID, REGULAR or STABLE."
  }
}

variable "maintenance_window" {
  description = "When GKE may upgrade the control plane and nodes: RFC 3339 start and end of the first window, and an RFC 5545 recurrence. GKE needs at least 48 hours in any 32 days."
  type = object({
    start_time = string
    end_time   = string
    recurrence = string
  })
  default = {
    start_time = "2026-01-03T02:00:00Z"
    end_time   = "2026-01-03T08:00:00Z"
    recurrence = "FREQ=WEEKLY;BYDAY=SA,SU"
  }

  validation {
    condition     = can(timeadd(var.maintenance_window.start_time, "0s")) && can(timeadd(var.maintenance_window.end_time, "0s")) && startswith(var.maintenance_window.recurrence, "FREQ=")
    error_message = "maintenance_window needs RFC 3339 start_time and end_time and a FREQ=… recurrence."
  }
}

variable "control_plane_authorized_networks" {
  description = "IPv4 ranges allowed to reach the control plane's IP endpoint. CI and operators use the DNS endpoint, which IAM guards, so this is usually empty."
  type = list(object({
    name       = string
    cidr_block = string
  }))
  default = []

  validation {
    condition     = alltrue([for n in var.control_plane_authorized_networks : can(cidrhost(n.cidr_block, 0))])
    error_message = "Every cidr_block must be an IPv4 CIDR block."
  }
}

variable "allowed_images" {
  description = "Binary Authorization allow-list: image name patterns that may run (e.g. the release repository followed by /*). Google's system images are allowed by the global policy."
  type        = list(string)

  validation {
    condition     = length(var.allowed_images) > 0 && alltrue([for p in var.allowed_images : endswith(p, "*") || strcontains(p, "@sha256:")])
    error_message = "allowed_images must list at least one pattern, each ending in * or naming a digest."
  }
}

variable "deletion_protection" {
  description = "Refuse `terraform destroy` of the clusters; set false only to tear the environment down."
  type        = bool
  default     = true
}

variable "spinkube" {
  description = "Optional GKE Standard cluster for the SpinKube path: Ubuntu nodes, because the containerd Spin shim is installed on the node by the runtime-class-manager, which Container-Optimized OS's read-only root does not allow. It needs secondary ranges of its own (pods_range_name, services_range_name: not the Autopilot cluster's). The node pool is regional: nodes_per_zone nodes in each of zones, so the pool has nodes_per_zone × length(zones) nodes."
  type = object({
    enabled             = bool
    name                = string
    machine_type        = string
    zones               = list(string)
    nodes_per_zone      = number
    pods_range_name     = string
    services_range_name = string
  })
  default = {
    enabled             = false
    name                = "doc-proxy-spin"
    machine_type        = "e2-standard-2"
    zones               = []
    nodes_per_zone      = 1
    pods_range_name     = ""
    services_range_name = ""
  }

  validation {
    condition = !var.spinkube.enabled || (
      var.spinkube.nodes_per_zone >= 1 && var.spinkube.nodes_per_zone * length(var.spinkube.zones) <= 10 &&
      length(var.spinkube.zones) >= 1 && var.spinkube.pods_range_name != "" && var.spinkube.services_range_name != "" &&
      can(regex("^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$", var.spinkube.name))
    )
    error_message = "With spinkube.enabled: at least one zone, 1-10 nodes in all, ranges of its own, and a lowercase RFC 1035 label as name."
  }
}

variable "labels" {
  description = "Labels for the SpinKube node pool's VMs (cost attribution). The clusters carry a cluster label; the provider's default_labels add the environment's own to both."
  type        = map(string)
  default     = {}
}
