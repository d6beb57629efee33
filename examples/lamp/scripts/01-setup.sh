#!/bin/bash
# Web server and database settings for the image.
set -euo pipefail
rm -f /var/www/html/index.nginx-debian.html
chown -R www-data:www-data /var/www/html
nginx -t
systemctl enable --now nginx mariadb php8.2-fpm
systemctl reload nginx
# Like mysql_secure_installation: no anonymous users, no test database.
mariadb -e "DELETE FROM mysql.global_priv WHERE User=''; DROP DATABASE IF EXISTS test; FLUSH PRIVILEGES;"
echo "setup done"
