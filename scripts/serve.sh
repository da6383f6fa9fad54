#!/usr/bin/env bash
# Install and start the service on its embedded default: SQLite in ./instance, demo data loaded.
# Prints the demo tokens and public page URLs, then serves on http://localhost:5000 with gunicorn
# and, beside it, the worker that runs background jobs.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/_venv.sh
source scripts/_venv.sh
install_project
.venv/bin/flask --app wsgi init
.venv/bin/flask --app wsgi demo
# gunicorn and the job worker (label PDFs...), stopped together: scripts/run.sh.
exec scripts/run.sh
