#!/usr/bin/env bash
# Machine set-up the test suite relies on, beyond `npm ci`: a reachable
# PostgreSQL server for the tests (TEST_DATABASE_URL, else 127.0.0.1:5432).
# Idempotent; safe to run again.
set -euo pipefail
if [ -z "${TEST_DATABASE_URL:-}" ] && command -v pg_ctlcluster >/dev/null 2>&1; then
  if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    echo "setup: starting the local PostgreSQL server"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
fi

# Room for several test runs at once (each test file holds a pool, the
# resilience tests start server processes): PostgreSQL's default of 100
# connections is too few. Raised once, with a restart, on a local server only.
if [ -z "${TEST_DATABASE_URL:-}" ] && command -v pg_ctlcluster >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
  current="$(psql -h 127.0.0.1 -U postgres -d postgres -Atc 'show max_connections' 2>/dev/null || echo 0)"
  if [ "${current:-0}" -lt 400 ]; then
    echo "setup: raising PostgreSQL max_connections from ${current} to 400 (restart)"
    psql -h 127.0.0.1 -U postgres -d postgres -qc 'alter system set max_connections = 400'
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main restart
  fi
fi

# Streaming replication for the read-replica tests (test/setup/replica.ts makes
# a replica with pg_basebackup -R from this server): replication connections
# from 127.0.0.1 must be accepted (wal_level replica and max_wal_senders are
# PostgreSQL's defaults). A pg_hba.conf line and a reload, on a local server only.
if [ -z "${TEST_DATABASE_URL:-}" ] && command -v pg_ctlcluster >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
  hba="$(psql -h 127.0.0.1 -U postgres -d postgres -Atc 'show hba_file' 2>/dev/null || true)"
  if [ -n "$hba" ] && [ -f "$hba" ] && ! grep -Eq '^host[[:space:]]+replication[[:space:]]+all[[:space:]]+127\.0\.0\.1/32' "$hba"; then
    echo "setup: allowing replication connections from 127.0.0.1 (pg_hba.conf, reload)"
    echo 'host replication all 127.0.0.1/32 trust' >> "$hba"
    psql -h 127.0.0.1 -U postgres -d postgres -qAtc 'select pg_reload_conf()' >/dev/null
  fi
  if [ "$(psql -h 127.0.0.1 -U postgres -d postgres -Atc 'show wal_level' 2>/dev/null || echo replica)" = "minimal" ]; then
    echo "setup: wal_level minimal has no replicas: setting replica (restart)"
    psql -h 127.0.0.1 -U postgres -d postgres -qc 'alter system set wal_level = replica'
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main restart
  fi
fi

# Chromium for the admin console's browser tests (test/admin-console, driven by
# playwright-core): Debian's package, not a downloaded browser. Installed only
# when running as root (CI); elsewhere install it yourself or set CHROMIUM_PATH.
if [ -z "${CHROMIUM_PATH:-}" ] && ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing chromium for the admin console browser tests"
    (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium) || echo "setup: could not install chromium; test/admin-console/console.e2e.test.ts will fail"
  else
    echo "setup: chromium not found; install it (apt-get install chromium) or set CHROMIUM_PATH for test/admin-console/console.e2e.test.ts"
  fi
fi

# PgBouncer for the pooler tests (test/setup/poolers.ts starts it in session
# and transaction mode in front of the test server): Debian's package, when
# running as root (CI), as for Chromium.
if ! command -v pgbouncer >/dev/null 2>&1 && [ ! -x /usr/sbin/pgbouncer ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing pgbouncer for the connection-pooler tests"
    (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y pgbouncer) || echo "setup: could not install pgbouncer; the pgbouncer-* test projects will fail"
  else
    echo "setup: pgbouncer not found; install it (apt-get install pgbouncer) for the pgbouncer-* test projects"
  fi
fi
