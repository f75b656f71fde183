#!/bin/sh
# The one entry point of every Coord process, in a container (Dockerfile, compose.yaml) and
# under systemd (deploy/systemd/): deploy/entrypoint.sh web|worker|scheduler|migrate [ARGS…]
#
#   web        gunicorn with deploy/gunicorn.conf.py (GUNICORN_BIND, WEB_CONCURRENCY, …)
#   worker     `flask coord worker`: runs the queued jobs (network recomputes, scheduled jobs)
#   scheduler  `flask coord scheduler`: RQ's cron scheduler; exactly one per site
#   migrate    `flask db upgrade`, before the new version's web and worker processes start;
#              with COORD_DEMO=1 `flask coord init` (upgrade, then the demo neighbourhood
#              when the database is empty: a trial only, its logins share one known password)
#
# Settings come from COORD_* environment variables (deploy/production.env.example). The
# commands are looked up on PATH: put the virtualenv's bin/ first (the image and the units do).
set -eu

here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
export FLASK_APP="${FLASK_APP:-coord:create_app}"

role="${1:-}"
[ $# -gt 0 ] && shift

case "$role" in
  web)
    exec gunicorn --config "$here/gunicorn.conf.py" "$@"
    ;;
  worker)
    exec flask coord worker "$@"
    ;;
  scheduler)
    exec flask coord scheduler "$@"
    ;;
  migrate)
    if [ "${COORD_DEMO:-0}" = 1 ]; then
      exec flask coord init "$@"
    fi
    exec flask db upgrade "$@"
    ;;
  *)
    echo "usage: $0 web|worker|scheduler|migrate [ARGS...]" >&2
    exit 64
    ;;
esac
