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
