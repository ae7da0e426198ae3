#!/usr/bin/env bash
# Installs what the benchmark needs beyond the project's Python dependencies: wrk.
set -euo pipefail
if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq wrk
fi
wrk --version 2>&1 | head -1 || true
