#!/bin/bash
# Runs as the app user (execute_command su - app): its files are its own.
set -e
mkdir -p "$HOME/data"
echo "$APP_GREETING as $(id -un) in $PWD" > "$HOME/data/greeting.txt"
