#!/bin/bash
# Container health probe for the tintype images: GET a path on the service's own port, healthy on 200.
#
#   healthcheck.sh ADDR_VARIABLE DEFAULT_ADDR PATH
#   e.g. healthcheck.sh TINTYPE_HTTP_ADDR 0.0.0.0:8080 /healthz
#
# Why a bash script and not curl: the runtime image is debian-slim, which has bash (it is Essential)
# but no HTTP client. bash's /dev/tcp plus HTTP/1.0 is all a local probe needs, and it adds no package,
# no TLS stack and nothing an attacker could use to fetch more tools. The port is read from the same
# variable the service binds, so moving the listener does not break the probe.
set -euo pipefail

var="$1" default="$2" path="$3"
addr="${!var:-$default}"
port="${addr##*:}"

exec 3<>"/dev/tcp/127.0.0.1/${port}"
printf 'GET %s HTTP/1.0\r\nHost: localhost\r\nUser-Agent: tintype-healthcheck\r\n\r\n' "$path" >&3
# Status line: "HTTP/1.1 200 OK". Docker's own --timeout bounds the whole probe; -t guards a stuck read.
read -r -t 5 _ status _ <&3
exec 3<&-
[[ "$status" == "200" ]]
