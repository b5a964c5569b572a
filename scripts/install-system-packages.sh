#!/usr/bin/env bash
# Installs the system packages Keel's tests need beyond Node: Debian's python3 with scikit-learn, for
# the `process` flavor's scikit-learn example (examples/sklearn-process). Idempotent: does nothing when
# `/usr/bin/python3 -c 'import sklearn'` already works. Otherwise installs `python3-sklearn` with apt
# (as root, or through sudo without a password); when it cannot, says so loudly and exits non-zero.
set -euo pipefail

PYTHON=/usr/bin/python3
PACKAGES=(python3-sklearn)

if [ -x "$PYTHON" ] && "$PYTHON" -c 'import sklearn' 2>/dev/null; then
  echo "install-system-packages: $PYTHON with scikit-learn $("$PYTHON" -c 'import sklearn; print(sklearn.__version__)') is present; nothing to do."
  exit 0
fi

fail() {
  echo "" >&2
  echo "!!! install-system-packages: $1 !!!" >&2
  echo "!!! Install Debian's ${PACKAGES[*]} (it brings /usr/bin/python3 with scikit-learn), then run this again. !!!" >&2
  exit 1
}

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO=(sudo -n)
else
  fail "scikit-learn is missing and this user can neither run apt-get as root nor use sudo without a password"
fi
command -v apt-get >/dev/null 2>&1 || fail "scikit-learn is missing and apt-get is not available (not a Debian-based system?)"

echo "install-system-packages: installing ${PACKAGES[*]} with apt-get…"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update || fail "apt-get update failed"
"${SUDO[@]}" apt-get install -y --no-install-recommends "${PACKAGES[@]}" || fail "apt-get install ${PACKAGES[*]} failed"

"$PYTHON" -c 'import sklearn' 2>/dev/null || fail "${PACKAGES[*]} was installed but $PYTHON still cannot import sklearn"
echo "install-system-packages: $PYTHON with scikit-learn $("$PYTHON" -c 'import sklearn; print(sklearn.__version__)') is ready."
