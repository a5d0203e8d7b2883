#!/usr/bin/env bash
# The browser ConsoleIT drives: Debian's chromium, installed here when missing (CI runs as root).
# Playwright's own browser download is not used: playwright-core only drives /usr/bin/chromium.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  sudo=(sudo -n)
else
  sudo=()
fi
echo "Installing Debian's chromium for the console's browser tests..."
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get install -y -q chromium >/dev/null 2>&1 || {
  "${sudo[@]}" apt-get update -q >/dev/null
  "${sudo[@]}" apt-get install -y -q chromium >/dev/null
}
/usr/bin/chromium --version
