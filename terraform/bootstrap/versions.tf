terraform {
  required_version = ">= 1.9.0, < 2.0.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "7.46.0"
    }
  }

  # Local state, on purpose: this makes the bucket every other state lives in.
  # Keep terraform.tfstate out of git (.gitignore) and, once the bucket
  # exists, optionally migrate with a backend "gcs" block and `terraform init
  # -migrate-state`.
}
