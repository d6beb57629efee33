#!/bin/bash
# First boot, second script: say which droplet this is on the web page.
set -euo pipefail
ip=$(hostname -I | awk '{print $1}')
echo "<!-- served by ${ip} -->" >> /var/www/html/index.php
mkdir -p /var/lib/lamp && echo "002_onboot-web $(date +%s.%N)" >> /var/lib/lamp/first-boot.log
