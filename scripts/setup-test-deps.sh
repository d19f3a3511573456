#!/usr/bin/env bash
# Installs what the test suite needs beyond the Rust toolchain, only when it is
# missing, so that scripts/test.sh works on a fresh machine of this project's
# kind (Debian, root or passwordless sudo):
#   - chromium + chromium-driver: the sign-up page is tested in a real headless browser.
set -euo pipefail

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)

if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]} from Debian's packages" >&2
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi
