#!/bin/sh
# Installs what a fresh Debian 12 machine lacks to build and test foyer.
set -e
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends \
    build-essential autoconf automake libtool pkg-config \
    libev-dev libluajit-5.1-dev libssl-dev libhttp-parser-dev libcunit1-dev libyaml-dev \
    curl python3 python3-yaml ca-certificates procps openssl \
    clang libclang-rt-14-dev valgrind etcd-server
