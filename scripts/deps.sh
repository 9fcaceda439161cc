#!/bin/sh
# SPDX-License-Identifier: MIT
# Install the Debian packages exq needs, only when some are missing.
# Quick (a few dpkg queries) when everything is there.
set -eu
PKGS="make gcc pkg-config zlib1g-dev libkdumpfile-dev libcmocka-dev libjson-c-dev python3-jsonschema"
# `deps.sh --fuzz` (make fuzz only): clang and its libFuzzer runtime.
[ "${1:-}" = --fuzz ] && PKGS="$PKGS clang-14 libclang-rt-14-dev"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "exq deps: installing:$missing" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then
	if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
		echo "exq deps: need root (or sudo) to install:$missing" >&2; exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
