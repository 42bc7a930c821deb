output "notification_channel" {
  description = "Resource name of the e-mail notification channel every alert policy sends to."
  value       = google_monitoring_notification_channel.email.name
}

output "alert_policies" {
  description = "Alert policy resource names, by the alerting rule they evaluate."
  value       = { for name, policy in google_monitoring_alert_policy.rule : name => policy.name }
}
