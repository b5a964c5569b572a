#!/usr/bin/env bash
# Installs the system packages Keel's tests need beyond Node:
# - Debian's python3 with scikit-learn (python3-sklearn), for the `process` flavor's scikit-learn
#   example (examples/sklearn-process);
# - Debian's Chromium (chromium, /usr/bin/chromium), which the browser tests of the web UI drive
#   through playwright-core (test/ui; no browser is ever downloaded), with fonts-liberation (a
#   recommendation of chromium that --no-install-recommends would skip) so pages render text.
# Idempotent: installs only what is missing, and does nothing when `/usr/bin/python3 -c 'import
# sklearn'` works and /usr/bin/chromium exists. Otherwise installs the missing packages with apt (as
# root, or through sudo without a password); when it cannot, says so loudly and exits non-zero.
set -euo pipefail

PYTHON=/usr/bin/python3
CHROMIUM=/usr/bin/chromium
PACKAGES=()

if [ -x "$PYTHON" ] && "$PYTHON" -c 'import sklearn' 2>/dev/null; then
  echo "install-system-packages: $PYTHON with scikit-learn $("$PYTHON" -c 'import sklearn; print(sklearn.__version__)') is present."
else
  PACKAGES+=(python3-sklearn)
fi
if [ -x "$CHROMIUM" ]; then
  echo "install-system-packages: $CHROMIUM is present."
else
  PACKAGES+=(chromium fonts-liberation)
fi

if [ "${#PACKAGES[@]}" -eq 0 ]; then
  echo "install-system-packages: nothing to do."
  exit 0
fi

fail() {
  echo "" >&2
  echo "!!! install-system-packages: $1 !!!" >&2
  echo "!!! Install Debian's ${PACKAGES[*]} (python3-sklearn brings /usr/bin/python3 with scikit-learn, chromium brings /usr/bin/chromium), then run this again. !!!" >&2
  exit 1
}

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO=(sudo -n)
else
  fail "${PACKAGES[*]} missing and this user can neither run apt-get as root nor use sudo without a password"
fi
command -v apt-get >/dev/null 2>&1 || fail "${PACKAGES[*]} missing and apt-get is not available (not a Debian-based system?)"

echo "install-system-packages: installing ${PACKAGES[*]} with apt-get…"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update || fail "apt-get update failed"
"${SUDO[@]}" apt-get install -y --no-install-recommends "${PACKAGES[@]}" || fail "apt-get install ${PACKAGES[*]} failed"

"$PYTHON" -c 'import sklearn' 2>/dev/null || fail "python3-sklearn was installed but $PYTHON still cannot import sklearn"
[ -x "$CHROMIUM" ] || fail "chromium was installed but $CHROMIUM is still missing"
echo "install-system-packages: $PYTHON with scikit-learn $("$PYTHON" -c 'import sklearn; print(sklearn.__version__)') and $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM") are ready."
