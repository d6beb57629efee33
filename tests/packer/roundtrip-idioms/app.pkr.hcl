packer {
  required_plugins {
    digitalocean = {
      version = ">= 1.4.0"
      source  = "github.com/digitalocean/digitalocean"
    }
  }
}

variable "app_user" {
  type    = string
  default = "app"
}

locals {
  timestamp = regex_replace(timestamp(), "[- TZ:]", "")
}

source "digitalocean" "app" {
  image         = "debian-12-x64"
  region        = "nyc3"
  size          = "s-1vcpu-1gb"
  ssh_username  = "root"
  droplet_name  = "idioms-build-${formatdate("YYYYMMDD-hhmm", timestamp())}"
  snapshot_name = "idioms-${local.timestamp}"
}

# The image this test builds.
build {
  name    = "app"
  sources = ["source.digitalocean.app"]

  hcp_packer_registry {
    bucket_name = "idioms"
    description = "the app image"
  }

  provisioner "shell" {
    inline = ["useradd --create-home --shell /bin/bash ${var.app_user}"]
  }

  provisioner "shell" {
    environment_vars = ["APP_GREETING=hello from ${var.app_user}"]
    execute_command  = "chmod +x {{ .Path }}; su -c '{{ .Vars }} {{ .Path }}' - ${var.app_user}"
    scripts          = ["scripts/as-app.sh"]
  }

  post-processor "shell-local" {
    inline = ["echo built"]
  }
}

# Another image from the same file, imported only with --build worker.
build {
  name    = "worker"
  sources = ["source.digitalocean.app"]

  provisioner "shell" {
    inline = ["echo worker > /etc/role"]
  }
}
