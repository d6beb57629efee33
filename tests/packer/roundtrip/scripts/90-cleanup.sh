#!/bin/bash
# DigitalOcean cleanup (the tool does this itself)
rm -rf /tmp/*
