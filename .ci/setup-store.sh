#!/usr/bin/env bash
# PostgreSQL for src/store/postgres.test.ts: a server on 127.0.0.1:$STORE_PG_PORT (default 5432) that
# lets user postgres in without a password from loopback only. Idempotent: does nothing when something
# already listens there. The package itself comes from .ci/apt-store.txt (installed here if missing).
set -euo pipefail

port="${STORE_PG_PORT:-5432}"
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

if listening; then
  echo "PostgreSQL already listening on 127.0.0.1:$port"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

if ! command -v pg_lsclusters >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi

# Use the cluster configured for this port if there is one (Debian creates <version>/main on install,
# usually without starting it when there is no init system); otherwise create one.
read -r version cluster < <(pg_lsclusters --no-header | awk -v p="$port" '$3 == p { print $1, $2; exit }') || true
if [ -z "${version:-}" ]; then
  version="$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -1)"
  cluster="ci${port}"
  $SUDO pg_createcluster "$version" "$cluster" --port "$port" >/dev/null
fi

hba="/etc/postgresql/$version/$cluster/pg_hba.conf"
rule="host all postgres 127.0.0.1/32 trust"
# First matching line wins in pg_hba.conf, so the rule goes on top.
if ! $SUDO grep -qxF "$rule" "$hba"; then
  $SUDO sed -i "1i $rule" "$hba"
fi

if pg_lsclusters --no-header | awk -v v="$version" -v c="$cluster" '$1 == v && $2 == c && $4 == "online" { f = 1 } END { exit !f }'; then
  $SUDO pg_ctlcluster "$version" "$cluster" reload
else
  $SUDO pg_ctlcluster "$version" "$cluster" start
fi

for _ in $(seq 1 30); do
  if listening; then
    echo "PostgreSQL $version/$cluster listening on 127.0.0.1:$port"
    exit 0
  fi
  sleep 1
done
echo "PostgreSQL $version/$cluster did not start listening on 127.0.0.1:$port" >&2
exit 1
