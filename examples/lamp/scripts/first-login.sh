#!/bin/bash
# Runs on root's first login only (the .bashrc hook restores .bashrc afterwards).
ip=$(hostname -I | awk '{print $1}')
cat <<MSG
********************************************************************************
Welcome to your LAMP droplet by Acme.

  Web site:           http://${ip}/
  Database password:  in /root/.digitalocean_password
  Web root:           /var/www/html

This message is shown on your first login only.
********************************************************************************
MSG
