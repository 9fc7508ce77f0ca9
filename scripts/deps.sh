#!/usr/bin/env bash
# Installs what aelab needs on Debian, idempotently: does nothing when every package is present.
# Usage: scripts/deps.sh [extra-package ...]   (needs root or sudo when something is missing)
set -euo pipefail
# chromium: results.html rendered headless (tests/e2e/report_html.sh); man-db: `man -l` of the
# generated man page (tests/e2e/install.sh)
pkgs=(libdnnl-dev ocl-icd-opencl-dev libyaml-dev libgsl-dev check zlib1g-dev libpng-dev
      gnuplot-nox pkg-config cmake make gcc dataset-fashion-mnist python3
      libopenmpi-dev openmpi-bin chromium man-db "$@")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}"
sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
