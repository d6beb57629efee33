packer {
  required_plugins {
    digitalocean = {
      version = ">= 1.4.0"
      source  = "github.com/digitalocean/digitalocean"
    }
  }
}

source "digitalocean" "roundtrip" {
  api_token     = var.do_api_token
  image         = "debian-12-x64"
  region        = "nyc3"
  size          = "s-1vcpu-1gb"
  ssh_username  = "root"
  snapshot_name = local.image_name
}

build {
  sources = ["source.digitalocean.roundtrip"]

  provisioner "shell" {
    inline = ["cloud-init status --wait"]
  }

  provisioner "file" {
    source      = "files/etc/"
    destination = "/etc/"
  }

  provisioner "shell" {
    environment_vars = ["APP_VERSION=${var.app_version}", "DEBIAN_FRONTEND=noninteractive"]
    scripts          = ["scripts/01-app.sh"]
  }

  provisioner "shell" {
    scripts = ["scripts/90-cleanup.sh", "scripts/99-img_check.sh"]
  }
}
