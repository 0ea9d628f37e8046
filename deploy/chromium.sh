#!/usr/bin/env bash
# Debian's chromium for the console's browser tests (Playwright drives it by its path; its own
# browser download is never used).   deploy/chromium.sh install
set -euo pipefail

case ${1:-} in
  install)
    if [[ -x /usr/bin/chromium ]]; then
      echo "chromium: present" >&2
      exit 0
    fi
    echo "chromium: installing from Debian" >&2
    apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >&2
    ;;
  *) echo "usage: $0 install" >&2; exit 2 ;;
esac
