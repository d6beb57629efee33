#!/bin/bash
set -e
echo "app ${APP_VERSION}" > /etc/app/version
cat /etc/app/app.conf
