#!/usr/bin/env bash
# Installs everything the tests need (Debian packages too, when root) into .venv and
# runs every check: ruff, mypy, the import-linter contracts and the whole pytest suite.
# Tests that need what the machine lacks (root, QEMU, libvirtd, Go) skip and say why.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(python3-venv python3-dev pkg-config iproute2 iputils-ping tmux openssh-client
          qemu-system-x86 qemu-utils libvirt-daemon-system libvirt-clients libvirt-dev
          busybox-static linux-image-cloud-amd64
          tgt qemu-block-extra libvirt-daemon-driver-storage-iscsi-direct
          libvirt-daemon-driver-lxc iptables
          golang-go golang-github-vmware-govmomi-dev)
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null
  fi
fi

python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
if pkg-config --exists libvirt 2>/dev/null; then
  .venv/bin/python -m pip install -q 'libvirt-python>=9.0'
else
  echo "== libvirt headers not found: libvirt tests will skip (install libvirt-dev)"
fi

if command -v go >/dev/null && [ -d /usr/share/gocode/src/github.com/vmware/govmomi ]; then
  echo "== building vcsim (VMware's vCenter simulator) from Debian's govmomi"
  bash tools/vcsim/build.sh >/dev/null
else
  echo "== Go or govmomi's sources not found: vCenter tests will skip (install golang-go golang-github-vmware-govmomi-dev)"
fi

export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff";  ruff check vmconsole tests benchmarks
echo "== mypy";  mypy
echo "== import-linter"; lint-imports
echo "== pytest"
set +e
pytest -q -rs "$@"
rc=$?
set -e
if [ $rc -eq 5 ]; then
  echo "pytest collected no tests"; exit 1
fi
exit $rc
