#!/usr/bin/env bash
# A real HashiCorp Vault server (v1.14.8, MPL-2.0) for the integration tests
# in secrets/. The binary is built from tools/vault (its own Go module; see
# tools/vault/README.md) with nothing but the Go module proxy, and cached in
#   ${DESKBRIDGE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/deskbridge}/vault-1.14.8-<hash>/vault
# where <hash> covers tools/vault and the Go version, so a changed pin rebuilds.
#
#   .ci/vault.sh build          build or reuse the binary; print its path
#   .ci/vault.sh start [FILE]   start `vault server -dev` on 127.0.0.1 (port 8200,
#                               or a free one) with a random root token, wait
#                               until it is unsealed, and print
#                                 export DESKBRIDGE_TEST_VAULT_ADDR=...
#                                 export DESKBRIDGE_TEST_VAULT_TOKEN=...
#                                 export DESKBRIDGE_TEST_VAULT_PID=...
#                               (also written to FILE when given), e.g.
#                                 eval "$(.ci/vault.sh start)"
#   .ci/vault.sh stop [PID]     stop that server (PID defaults to
#                               $DESKBRIDGE_TEST_VAULT_PID, else the last started)
#
# Progress goes to stderr. Exit status 1 means no Vault (build or start
# failed, or DESKBRIDGE_SKIP_VAULT=1); .ci/run then runs the tests without it
# and the real-Vault tests skip. The first build takes a while (Vault is big).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
tools="$repo/tools/vault"
export PATH="$PATH:/usr/local/go/bin"

vault_version=1.14.8
sdk_module=github.com/hashicorp/vault/sdk
sdk_version=v0.9.2
sdk_sum='h1:H1kitfl1rG2SHbeGEyvhEqmIjVKE3E6c2q3ViKOs6HA='

cache_root=${DESKBRIDGE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/deskbridge}
run_dir="$cache_root/vault-run"

log() { printf 'vault.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

cache_key() {
  {
    go version
    cat "$tools/go.mod" "$tools/go.sum" "$tools/main.go" "$tools"/patches/*.patch
  } | sha256sum | cut -c1-12
}

# build_vault prints the path of the cached binary, building it first if needed.
build_vault() {
  command -v go >/dev/null || die "go is not installed"
  local dir bin
  dir="$cache_root/vault-$vault_version-$(cache_key)"
  bin="$dir/vault"
  if [ -x "$bin" ]; then
    log "using cached $bin"
    echo "$bin"; return 0
  fi
  mkdir -p "$dir"

  # tools/vault/_sdk: the sdk module from the proxy, checked against the pinned
  # sum, with the 1.14 release-branch patch applied (go.mod replaces the sdk with it).
  log "downloading $sdk_module@$sdk_version"
  local json sdk_dir sum
  if ! json=$(cd / && GOFLAGS= GOWORK=off GO111MODULE=on go mod download -json "$sdk_module@$sdk_version"); then
    printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Error": //p' >&2
    die "go mod download $sdk_module@$sdk_version failed"
  fi
  sdk_dir=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
  sum=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Sum": "\(.*\)",*$/\1/p')
  [ "$sum" = "$sdk_sum" ] || die "$sdk_module@$sdk_version has sum '$sum', want $sdk_sum"
  [ -d "$sdk_dir" ] || die "no directory for $sdk_module@$sdk_version"
  rm -rf "$tools/_sdk"
  cp -R "$sdk_dir" "$tools/_sdk"
  chmod -R u+w "$tools/_sdk"
  # GIT_CEILING_DIRECTORIES keeps git apply from treating _sdk as part of this repository.
  (cd "$tools/_sdk" && GIT_CEILING_DIRECTORIES="$tools" git apply "$tools/patches/sdk-$sdk_version.patch") \
    || die "applying tools/vault/patches/sdk-$sdk_version.patch failed"

  log "building Vault $vault_version into $dir (takes several minutes the first time)"
  local start=$SECONDS
  (cd "$tools" && CGO_ENABLED=0 GOWORK=off GOFLAGS=-mod=readonly \
    go build -trimpath -buildvcs=false -ldflags='-s -w' -o "$bin.tmp" .) >&2 \
    || { rm -f "$bin.tmp"; die "building Vault failed"; }
  mv "$bin.tmp" "$bin"
  printf 'vault %s built by %s in %ss, %s bytes\n' "$vault_version" "$(go version)" \
    "$((SECONDS - start))" "$(wc -c <"$bin")" | tee "$dir/build.txt" >&2
  echo "$bin"
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port prints 8200 when 8200 and 8201 (the dev cluster port) are free,
# else another free pair.
free_port() {
  local p=8200 i
  for i in $(seq 1 20); do
    if ! port_busy "$p" && ! port_busy "$((p + 1))"; then echo "$p"; return 0; fi
    p=$((20000 + RANDOM % 20000))
  done
  return 1
}

start_vault() {
  local envfile=${1:-}
  [ "${DESKBRIDGE_SKIP_VAULT:-}" = 1 ] && die "DESKBRIDGE_SKIP_VAULT=1: not starting Vault"
  local bin port token addr pid logfile attempt
  bin=$(build_vault)
  mkdir -p "$run_dir"
  token="deskbridge-ci-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  for attempt in 1 2 3; do
    port=$(free_port) || die "no free port for Vault"
    addr="http://127.0.0.1:$port"
    logfile="$run_dir/vault-$port.log"
    log "starting vault server -dev on $addr (log: $logfile)"
    nohup "$bin" server -dev -dev-listen-address="127.0.0.1:$port" \
      -dev-root-token-id="$token" -dev-no-store-token \
      </dev/null >"$logfile" 2>&1 &
    pid=$!
    echo "$pid" >"$run_dir/vault.pid"
    local i
    for i in $(seq 1 60); do
      if VAULT_ADDR="$addr" VAULT_TOKEN="$token" "$bin" status >/dev/null 2>&1; then
        log "Vault $vault_version is up (pid $pid)"
        local exports
        exports=$(printf 'export DESKBRIDGE_TEST_VAULT_ADDR=%s\nexport DESKBRIDGE_TEST_VAULT_TOKEN=%s\nexport DESKBRIDGE_TEST_VAULT_PID=%s\n' "$addr" "$token" "$pid")
        [ -n "$envfile" ] && printf '%s\n' "$exports" >"$envfile"
        printf '%s\n' "$exports"
        return 0
      fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    log "Vault did not come up on $addr (attempt $attempt); log tail:"
    tail -n 20 "$logfile" >&2 || true
    stop_vault "$pid" || true
  done
  die "could not start Vault"
}

stop_vault() {
  local pid=${1:-${DESKBRIDGE_TEST_VAULT_PID:-}}
  [ -n "$pid" ] || pid=$(cat "$run_dir/vault.pid" 2>/dev/null || true)
  [ -n "$pid" ] || { log "no Vault to stop"; return 0; }
  # Only a process that is our dev server (the pid may have been reused).
  local cmd=
  if [ -r "/proc/$pid/cmdline" ]; then
    cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
  elif [ ! -d /proc/self ]; then
    cmd=$(ps -o args= -p "$pid" 2>/dev/null || true)
  fi
  case "$cmd" in
    *"vault server -dev "*) ;;
    *) log "Vault (pid $pid) is not running"; return 0 ;;
  esac
  kill -TERM "$pid" 2>/dev/null || true
  local i
  for i in $(seq 1 40); do
    kill -0 "$pid" 2>/dev/null || { log "stopped Vault (pid $pid)"; return 0; }
    sleep 0.25
  done
  kill -KILL "$pid" 2>/dev/null || true
  log "killed Vault (pid $pid)"
}

case "${1:-}" in
  build) build_vault ;;
  start) start_vault "${2:-}" ;;
  stop) stop_vault "${2:-}" ;;
  *) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
