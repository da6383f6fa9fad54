#!/usr/bin/env bash
# Install and start the service on its embedded default: SQLite in ./instance, demo data loaded.
# Prints the demo tokens and public page URLs, then serves on http://localhost:5000.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/_venv.sh
source scripts/_venv.sh
install_project
.venv/bin/flask --app wsgi init
.venv/bin/flask --app wsgi demo
# The access log leaves out the client address: no raw IPs in logs.
exec .venv/bin/gunicorn --bind "${TRACE_BIND:-127.0.0.1:5000}" --workers "${TRACE_WORKERS:-2}" \
    --access-logfile - --access-logformat '%(t)s "%(r)s" %(s)s %(b)s %(M)sms' wsgi:app
