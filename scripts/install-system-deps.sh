#!/usr/bin/env bash
# Installs the Debian packages the tests and the local stack run for real: Alertmanager and
# Prometheus (with promtool), and chromium with its driver (the HTML report's browser test).
# Safe to re-run: does nothing when they are present.
set -euo pipefail
packages=(prometheus-alertmanager prometheus chromium chromium-driver)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
echo "installing Debian packages: ${missing[*]}" >&2
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The packages start system services; the tests start their own instances on free ports.
for svc in prometheus prometheus-alertmanager; do
  "${sudo_cmd[@]}" systemctl disable --now "$svc" >/dev/null 2>&1 || "${sudo_cmd[@]}" service "$svc" stop >/dev/null 2>&1 || true
done
