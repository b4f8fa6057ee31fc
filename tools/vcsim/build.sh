#!/usr/bin/env bash
# Builds the vcsim launcher (tools/vcsim/src/vcsim/main.go) against Debian's govmomi
# sources (golang-github-vmware-govmomi-dev) in GOPATH mode, with no network. The binary
# and Go's build cache live under the project's cache dir, so a rebuild takes seconds.
# Prints the binary's path. Needs golang-go and golang-github-vmware-govmomi-dev.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${VMCONSOLE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vmconsole}"
out="$cache/vcsim/vcsim"
mkdir -p "$cache/vcsim" "$cache/go-build"
if [ ! -x "$out" ] || [ "$here/src/vcsim/main.go" -nt "$out" ]; then
  GO111MODULE=off GOFLAGS= GOPATH="$here:/usr/share/gocode" GOCACHE="$cache/go-build" \
    go build -o "$out.tmp" vcsim
  mv "$out.tmp" "$out"
fi
echo "$out"
