#!/usr/bin/env bash
# Installs vmconsole into .venv (python3-venv too, when root and missing) and opens the
# console on the simulated demo cluster. Arguments go to vmconsole: scripts/demo.sh --help
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
if ! "$python" -c 'import ensurepip' 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  else
    echo "Python's venv module is missing: install python3-venv (as root: apt-get install python3-venv)" >&2
    exit 2
  fi
fi
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# Editable, as scripts/test.sh installs it: the benchmarks (and `python -m vmconsole` run
# here) import vmconsole from this checkout, whose vmconsole/ has no themes/ (the built-in
# themes are the top-level themes/); only an editable install maps vmconsole.themes onto
# it, where a plain one left them in site-packages, behind the checkout's vmconsole.
.venv/bin/python -m pip install -q -e .
exec .venv/bin/vmconsole "$@"
