variable "do_api_token" {
  type      = string
  default   = env("DIGITALOCEAN_API_TOKEN")
  sensitive = true
}

variable "app_version" {
  type    = string
  default = "0.0.0"
}

locals {
  image_name = "roundtrip-snapshot-${formatdate("YYYYMMDDhhmmss", timestamp())}"
}
