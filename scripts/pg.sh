#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and benchmarks (127.0.0.1 and a unix socket only).
#
#   scripts/pg.sh ensure             install the server with apt-get when initdb is missing
#   scripts/pg.sh start DIR [PORT]   initdb DIR (if new) and start it; prints the database URL
#   scripts/pg.sh stop DIR           stop it (immediate) — DIR is left for you to remove
#   scripts/pg.sh bindir             the directory holding initdb/pg_ctl
#
# As root the server runs as the 'postgres' user (initdb refuses root); DIR is chowned to it.
# The cluster trades durability for speed (fsync off): never point it at data you keep.
set -euo pipefail

bindir() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [[ -x "$d/initdb" ]] && { echo "$d"; return 0; }
  done
  if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return 0; fi
  return 1
}

ensure() {
  bindir >/dev/null && return 0
  echo "pg.sh: installing PostgreSQL with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends postgresql >&2
  bindir >/dev/null
}

as_owner() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
  local dir=${1:?usage: pg.sh start DIR [PORT]} port=${2:-} bin
  bin=$(bindir) || { echo "pg.sh: PostgreSQL is not installed (run: scripts/pg.sh ensure)" >&2; exit 1; }
  port=${port:-$(free_port)}
  mkdir -p "$dir"
  [[ $(id -u) -eq 0 ]] && chown postgres: "$dir" && chmod 700 "$dir"
  if [[ ! -f "$dir/data/PG_VERSION" ]]; then
    as_owner "$bin/initdb" -D "$dir/data" -U tokenward --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
  fi
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start -o \
    "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
     -c full_page_writes=off -c max_connections=64 -c shared_buffers=128MB" >/dev/null \
    || { cat "$dir/server.log" >&2; exit 1; }
  echo "$port" >"$dir/port"
  echo "postgresql://tokenward@127.0.0.1:$port/postgres"
}

stop() {
  local dir=${1:?usage: pg.sh stop DIR} bin
  bin=$(bindir) || exit 0
  [[ -f "$dir/data/postmaster.pid" ]] || return 0
  as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
}

cmd=${1:-}
shift || true
case "$cmd" in
  ensure) ensure ;;
  start) start "$@" ;;
  stop) stop "$@" ;;
  bindir) bindir ;;
  *) sed -n '2,10p' "$0" >&2; exit 2 ;;
esac
