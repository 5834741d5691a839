#!/bin/sh
# Installs the Debian packages that cprof's build, tests, demo and benchmarks
# need (Debian 12, as root). Does nothing when they are all there.
set -eu

PACKAGES="
build-essential cmake pkg-config git ca-certificates
protobuf-c-compiler libprotobuf-c-dev zlib1g-dev libdw-dev libelf-dev
libmicrohttpd-dev libjson-c-dev libcurl4-openssl-dev
golang-go
clang libclang-rt-14-dev
valgrind
google-perftools libgoogle-perftools-dev heaptrack
procps curl graphviz libxml2-utils
chromium nodejs
"

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "setup.sh: missing packages:$missing; run this script as root to install them" >&2
    exit 1
fi
echo "setup.sh: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
