#!/usr/bin/env bash
# Autogenerate the next migration from the models: scripts/new_migration.sh 0002_events "events and ledger"
set -euo pipefail
cd "$(dirname "$0")/.."
id=$1; message=$2
tmp=$(mktemp -d)
.venv/bin/python - "$tmp/db.sqlite3" "$message" <<'PY'
import sys
from trace import create_app, migrate
from trace.db import db
app = create_app({"DATABASE_URL": "sqlite:///" + sys.argv[1], "SECRET_KEY": "x"})
with app.app_context():
    migrate.upgrade(db.engine)
    migrate.revision(db.engine, sys.argv[2])
PY
cd trace/migrations/versions
f=$(ls -t *.py | head -1)
rev=${f%%_*}
mv "$f" "$id.py"
sed -i "s/$rev/$id/g; /please adjust/d; s/astext_type=Text()/astext_type=sa.Text()/g" "$id.py"
cd ../../..
.venv/bin/ruff format -q trace/migrations
.venv/bin/ruff check --fix -q trace/migrations || true
echo "trace/migrations/versions/$id.py"
