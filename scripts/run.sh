#!/usr/bin/env bash
# Serve as installed: gunicorn and the background-job worker side by side (scripts/serve.sh sets
# up first, then runs this). Neither outlives the other: when one ends, or this script is told to
# stop (TERM, INT, HUP), both are stopped (TERM) and waited for. Production runs the two as
# services of their own (see README, "Background jobs").
#   TRACE_BIND (127.0.0.1:5000), TRACE_WORKERS (2 gunicorn workers), TRACE_JOB_WORKERS (1)
set -uo pipefail
cd "$(dirname "$0")/.."
pids=()
stop() {
    trap - EXIT INT TERM HUP
    [ ${#pids[@]} -gt 0 ] && kill -TERM "${pids[@]}" 2>/dev/null
    wait "${pids[@]}" 2>/dev/null
}
trap stop EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP
for _ in $(seq "${TRACE_JOB_WORKERS:-1}"); do
    .venv/bin/flask --app wsgi worker &
    pids+=($!)
done
# gunicorn.conf.py: the hooks that start and stop each worker's public-page threads. The access
# log leaves out the client address: no raw IPs in logs.
.venv/bin/gunicorn -c gunicorn.conf.py --bind "${TRACE_BIND:-127.0.0.1:5000}" \
    --workers "${TRACE_WORKERS:-2}" \
    --access-logfile - --access-logformat '%(t)s "%(r)s" %(s)s %(b)s %(M)sms' wsgi:app &
pids+=($!)
wait -n
exit $?
