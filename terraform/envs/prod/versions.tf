terraform {
  required_version = ">= 1.9.0, < 2.0.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "7.46.0"
    }
  }

  # The bucket terraform/bootstrap made; `terraform init -backend-config=backend.hcl`
  # supplies its name (backend blocks cannot read variables).
  backend "gcs" {
    prefix = "envs/prod"
  }
}
