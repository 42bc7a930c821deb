variable "project_id" {
  description = "GCP project whose Cloud Monitoring holds the alert policies (the cluster's project: Managed Prometheus writes there)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a GCP project ID: 6-30 lowercase letters, digits and hyphens."
  }
}

variable "name" {
  description = "Prefix of the notification channel's and the policies' display names."
  type        = string
}

variable "notification_email" {
  description = "Where every alert goes: the address of the e-mail notification channel."
  type        = string

  validation {
    condition     = can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.notification_email))
    error_message = "notification_email must be an e-mail address."
  }
}

variable "rules_file" {
  description = "Prometheus rule file whose alerting rules become alert policies (observability/prometheus/rules/doc-proxy.rules.yml); its recording rules are evaluated in the cluster by the Rules resource."
  type        = string
}

variable "evaluation_interval" {
  description = "How often Cloud Monitoring evaluates each alert's PromQL (the rule file's own interval, 30s, is the Rules resource's)."
  type        = string
  default     = "60s"

  validation {
    condition     = can(regex("^[0-9]+s$", var.evaluation_interval))
    error_message = "evaluation_interval must be whole seconds, such as 60s."
  }
}
