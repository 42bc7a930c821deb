# Alerts that reach a person. The cluster's Rules resource (from the same
# rule file) records doc-proxy's SLO series into Managed Service for
# Prometheus; Cloud Monitoring evaluates each alerting rule of the file as a
# PromQL alert policy over those series and sends what fires to one e-mail
# channel. Nothing depends on the managed Alertmanager, which GKE ships with a
# configuration that sends nowhere.

locals {
  groups = yamldecode(file(var.rules_file)).groups

  # alert name => the rule, with its group's name.
  alerts = {
    for rule in flatten([
      for group in local.groups : [
        for r in group.rules : merge(r, { group = group.name }) if try(r.alert, null) != null
      ]
    ]) : rule.alert => rule
  }

  # Prometheus' `for:` (2m, 15m, 1h) as the seconds Cloud Monitoring takes.
  unit_seconds = { s = 1, m = 60, h = 3600 }
  durations = {
    for name, rule in local.alerts : name => (
      try(rule["for"], null) == null ? "0s" :
      "${tonumber(regex("^([0-9]+)[smh]$", rule["for"])[0]) * local.unit_seconds[regex("[smh]$", rule["for"])]}s"
    )
  }

  # The rule file's severities: page wakes someone, ticket waits for the day.
  severities = { page = "CRITICAL", ticket = "WARNING" }
}

resource "google_monitoring_notification_channel" "email" {
  project      = var.project_id
  display_name = "${var.name} alerts"
  type         = "email"
  labels = {
    email_address = var.notification_email
  }
}

resource "google_monitoring_alert_policy" "rule" {
  for_each = local.alerts

  project      = var.project_id
  display_name = each.key
  combiner     = "OR"
  severity     = lookup(local.severities, try(each.value.labels.severity, ""), "WARNING")

  conditions {
    display_name = each.key

    condition_prometheus_query_language {
      query               = each.value.expr
      duration            = local.durations[each.key]
      evaluation_interval = var.evaluation_interval
      labels              = try(each.value.labels, {})
      rule_group          = each.value.group
      alert_rule          = each.key
      # Cloud Monitoring refuses a PromQL policy whose metrics it has never
      # received, and on the first apply no pod has been scraped yet (the
      # recording rules' series appear only after the first deploy). The
      # field exists for this case (API field disableMetricValidation;
      # provider 6.13.0, hashicorp/terraform-provider-google#20544). A
      # misspelt metric is caught by make rules-check's promtool tests
      # instead.
      disable_metric_validation = true
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "${try(each.value.annotations.summary, each.key)}\n\nRunbook: docs/runbook.md, section ${each.key}."
  }

  notification_channels = [google_monitoring_notification_channel.email.name]
}
