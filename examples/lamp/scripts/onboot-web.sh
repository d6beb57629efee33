#!/bin/bash
# First boot, second script: say which droplet this is, next to the web page.
set -euo pipefail
ip=$(hostname -I | awk '{print $1}')
echo "served by ${ip}" > /var/www/html/whoami.txt
mkdir -p /var/lib/lamp && echo "002_onboot-web $(date +%s.%N)" >> /var/lib/lamp/first-boot.log
