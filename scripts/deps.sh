#!/usr/bin/env bash
# Installs what the build needs beyond the Rust toolchain: a few Debian packages for crates that
# compile C (libwebp via cc, pkg-config), libheif-dev for AVIF/HEIC input (the image engine links
# the system libheif; Debian 12's has the dav1d, aom and libde265 codecs built in), and Chromium
# with its WebDriver for the dashboard's browser test. Only installs what is missing; needs root
# for apt.
set -euo pipefail

need=()
for pkg in pkg-config build-essential libheif-dev python3-venv curl chromium chromium-driver; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "[deps] installing ${need[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "[deps] cargo not found: install Rust (rustup) first" >&2; exit 1; }
# The API contract tester, in a venv of its own.
"$(dirname "$0")/contract-venv.sh" >/dev/null
