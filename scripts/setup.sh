#!/usr/bin/env bash
# Installs what rqctl needs and is missing on this machine: redis-server (and supervisord for the
# deployment tests; Python's redis module for the test that shares a rate-limit budget with another
# application; chromium for the dashboard's browser tests with RQCTL_SETUP_BROWSER=1), then the
# npm dependencies and the build. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
if [ "${RQCTL_SETUP_SUPERVISOR:-1}" = 1 ]; then command -v supervisord >/dev/null 2>&1 || need+=(supervisor); fi
# Debian's python3-redis goes to the system python (/usr/bin/python3), which the test also tries.
python3 -c 'import redis' >/dev/null 2>&1 || /usr/bin/python3 -c 'import redis' >/dev/null 2>&1 || need+=(python3-redis)
# The dashboard's browser tests drive Debian's chromium (playwright-core never downloads a browser).
if [ "${RQCTL_SETUP_BROWSER:-0}" = 1 ]; then command -v chromium >/dev/null 2>&1 || need+=(chromium); fi
# ssh-keygen (openssh-client): the ssh:// host-key tests hash a known_hosts file and compute fingerprints with it.
command -v ssh-keygen >/dev/null 2>&1 || need+=(openssh-client)
# script (util-linux, bsdutils on Debian): the terminal test of `rqctl up` runs it on a pseudo-terminal.
command -v script >/dev/null 2>&1 || need+=(bsdutils)
if [ "${RQCTL_SETUP_DOCKER:-0}" = 1 ]; then
  command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
  command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
fi

if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    # policy-rc.d keeps the packages from starting their own services (redis on 6379, supervisord).
    if [ -z "$SUDO" ] && [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; trap 'rm -f /usr/sbin/policy-rc.d' EXIT; fi
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  elif command -v brew >/dev/null 2>&1; then
    for p in "${need[@]}"; do case "$p" in redis-server) brew install redis ;; supervisor) brew install supervisor ;; chromium) echo "setup: the browser tests need /usr/bin/chromium (Debian); they are skipped here" >&2 ;; python3-redis) python3 -m pip install --user redis ;; *) brew install "$p" ;; esac; done
  else
    echo "setup: please install ${need[*]} with your package manager" >&2
    exit 3
  fi
fi

node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20 || (a===20 && b<19)) { console.error("rqctl needs Node.js >= 20.19 (found " + process.versions.node + ")"); process.exit(2) }'
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
[ -f dist/cli/main.js ] || npm run build
