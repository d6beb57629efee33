#!/bin/bash
# First boot of every new droplet: a database and a password of its own.
set -euo pipefail
pw=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24)
mariadb -e "CREATE DATABASE IF NOT EXISTS app; CREATE USER IF NOT EXISTS 'app'@'localhost' IDENTIFIED BY '${pw}'; ALTER USER 'app'@'localhost' IDENTIFIED BY '${pw}'; GRANT ALL ON app.* TO 'app'@'localhost'; FLUSH PRIVILEGES;"
umask 077
printf 'app_db_user="app"\napp_db_password="%s"\n' "$pw" > /root/.digitalocean_password
printf 'user = app\npassword = "%s"\n' "$pw" > /var/www/.db.ini
chown www-data:www-data /var/www/.db.ini
mkdir -p /var/lib/lamp && echo "001_onboot $(date +%s.%N)" >> /var/lib/lamp/first-boot.log
