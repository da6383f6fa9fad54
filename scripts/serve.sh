#!/usr/bin/env bash
# Install and start the service on its embedded default: SQLite in ./instance, demo data loaded.
# Prints the console's sign-in URL with a demo account per role, the demo tokens and public page
# URLs, then serves on TRACE_BIND (127.0.0.1:5000) with
# gunicorn and, beside it, the worker that runs background jobs.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/_venv.sh
source scripts/_venv.sh

# The public URL a bind address is reached at: a wildcard address becomes localhost, no port is
# gunicorn's 8000; a Unix socket has none (nothing is printed).
public_url_for_bind() {
    local bind=$1 host port
    case "$bind" in
        unix:* | fd:*) return 0 ;;
        \[*\]:*) host=${bind%:*} port=${bind##*:} ;;
        \[*\]) host=$bind port=8000 ;;
        *:*) host=${bind%:*} port=${bind##*:} ;;
        *) host=$bind port=8000 ;;
    esac
    case "$host" in
        "" | 0.0.0.0 | "[::]") host=localhost ;;
    esac
    echo "http://$host:$port"
}

bind=${TRACE_BIND:-127.0.0.1:5000}
# Labels and the printed links carry TRACE_PUBLIC_URL: unless set, the address served here.
if [ -z "${TRACE_PUBLIC_URL:-}" ]; then
    derived=$(public_url_for_bind "$bind")
    if [ -n "$derived" ]; then
        export TRACE_PUBLIC_URL=$derived
        echo "TRACE_PUBLIC_URL=$derived (from the bind address $bind; set it to the address" \
            "phones reach before printing labels)"
    fi
fi
install_project
.venv/bin/flask --app wsgi init
.venv/bin/flask --app wsgi demo
export TRACE_BIND="$bind"
# gunicorn and the job worker (label PDFs...), stopped together: scripts/run.sh.
exec scripts/run.sh
