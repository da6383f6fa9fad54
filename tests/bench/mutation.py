"""Mutation testing of the code that guards the ledger, capture authorisation, the public recall
banner and the GS1 keys, with mutmut 3 (outside the test suite, like the benchmarks).

Each target is run on its own: a throw-away copy of the checkout gets a ``[tool.mutmut]``
section naming the file(s) to mutate and the tests that matter for them, and ``mutmut run``
(one worker by default: the machine is shared) runs, for each mutant, only the selected tests
that call the mutated function. Functions outside a target's scope are generated but not run
(``capture.py`` is scored on its authorisation functions only, ``lookup.py``/``recalls.py`` on
the parts that decide recall banners).

Score = killed / (killed + survived + not covered), per function and per target; the mutants
listed in ``EQUIVALENT`` (no test can tell them from the original on this database, reasons
given) are left out of the score and printed apart, as are, on SQLite, those in
``POSTGRESQL_ONLY`` (only PostgreSQL can tell them apart: run with ``TRACE_TEST_DATABASE_URL``
and one worker to score them). Surviving mutants are printed as diffs.

Run: ``scripts/mutation.sh [ledger capture recalls gs1] [--max-children 1]``; the tests use
SQLite unless ``TRACE_TEST_DATABASE_URL`` names a PostgreSQL server. mutmut's work directory is
kept under ``--work`` (default: a temporary directory) for ``mutmut show``/``browse``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COPIED = ("trace", "tests", "schemas", "fixtures", "pyproject.toml", "wsgi.py", "README.md")


@dataclass
class Target:
    files: list[str]
    tests: list[str]
    #: mutant-name patterns (fnmatch) of the functions in scope; empty: every function
    functions: list[str] = field(default_factory=list)


TARGETS: dict[str, Target] = {
    "ledger": Target(
        ["trace/services/events/ledger.py"],
        [
            "tests/services/events/test_ledger.py",
            "tests/services/events/test_ledger_replay.py",
            "tests/services/events/test_ledger_findings.py",
            "tests/services/events/test_ledger_derived.py",
            "tests/services/inspection/test_checkpoints.py",
            "tests/services/events/test_concurrent_capture.py",
            "tests/api/test_inspection_audit.py",
        ],
    ),
    "capture": Target(
        ["trace/services/events/capture.py"],
        [
            "tests/services/events/test_capture_authorisation_mutants.py",
            "tests/api/test_authorization.py",
            "tests/api/test_stages.py",
        ],
        [
            "trace.services.events.capture.x__authorise__*",
            "trace.services.events.capture.x__custody__*",
        ],
    ),
    "recalls": Target(
        ["trace/services/lookup.py", "trace/services/inspection/recalls.py"],
        [
            "tests/public/test_recall_lifecycle.py",
            "tests/public/test_page.py",
            "tests/public/test_resolver.py",
            "tests/api/test_inspection_recalls.py",
            "tests/api/test_recall_dry_run.py",
            "tests/public/test_recall_instruction.py",
        ],
        [
            "trace.services.lookup.x_recall_of__*",
            "trace.services.lookup.x_recall_status__*",
            "trace.services.lookup.x__freshness_columns__*",
            "trace.services.inspection.recalls.x_downstream__*",
            "trace.services.inspection.recalls.x_create_recall__*",
            "trace.services.inspection.recalls.x_close_recall__*",
        ],
    ),
    "gs1": Target(["trace/gs1/*.py"], ["tests/gs1"]),
}

_L = "trace.services.events.ledger.x_"
_GENERIC = (
    "the generic branch of lock_head runs on neither supported database (PostgreSQL and SQLite "
    "have their own)"
)
_C = "trace.services.events.capture.x_"
_INSPECTOR = "unreachable: capture() refuses an inspector token before authorising events"
_JOIN = "SQLAlchemy infers the same join condition from the foreign key"
_NONE = "verify() asks only whether an entry has mismatches: None and [] are both none"
_CACHE = "a cache of resolved URIs kept across chunks: without it each chunk resolves again"
_PAGE = "the page size: any positive size (or none) reads the same entries in the same order"
_F = "trace.services.lookup.x__freshness_columns"
_R = "trace.services.inspection.recalls.x_"
_CTE = "the CTE's name is used inside its own statement only"
_STATS = (
    "ANALYZE only refreshes the planner's statistics: run more or less often, no result changes"
)
_CASE = "SQL keywords and unquoted names are case-insensitive"
_W = 'walk = select(Batch.id.label("batch_id")).where(Batch.id.in_(roots))'
_IF = "if recall.include_downstream "
_NOW = "Recall.created_at defaults to the same moment (utcnow) when left unset"
_SYNC = "the service expires the whole session right after the UPDATE: no object is read stale"
_EVENTS = (
    "the batch's event count and its last ledger seq both move with each of its new events "
    "(nothing is deleted): either keeps the freshness token moving"
)
_CLOSING = (
    "closing a recall changes the page only with the batch's status or open recall, which the "
    "token holds anyway; and a close always raises the closed-recall count"
)
#: (target, function, text of the mutated line) -> why no test can kill it.
EQUIVALENT: dict[tuple[str, str, str], str] = {
    ("ledger", _L + "_entries", "def _entries(session: Session, batch: int = 2001, "
     "after: int = -1) -> Iterator[Event]:"): _PAGE,
    ("ledger", _L + "_entries",
     "select(Event).where(Event.seq > last).order_by(Event.seq).limit(None)"): _PAGE,
    ("ledger", _L + "_entry_chunks", "session: Session, batch: int = 2001, after: int = -1"):
        _PAGE,
    ("ledger", _L + "_entry_chunks",
     "select(Event).where(Event.seq > last).order_by(Event.seq).limit(None)"): _PAGE,
    ("ledger", _L + "_entries", "for rows in _entry_chunks(session, None, after):"): _PAGE,
    ("ledger", _L + "_checked_entries", "resolved: dict[str, int | None] = None"): _CACHE,
    ("ledger", _L + "_checked_entries",
     "mismatches = derived_mismatches(session, rows, None)"): _CACHE,
    ("ledger", _L + "_checked_entries", "mismatches = derived_mismatches(session, rows, )"): _CACHE,
    ("ledger", _L + "_checked_entries", "yield event, mismatches.get(event.id, None)"): _NONE,
    ("ledger", _L + "_checked_entries", "yield event, mismatches.get(event.id, )"): _NONE,
    ("ledger", _L + "entries_after", "def entries_after(session: Session, seq: int, "
     "batch: int = 2001) -> Iterator[Event]:"): _PAGE,
    ("ledger", _L + "entries_after", "return _entries(session, None, after=seq)"): _PAGE,
    ("ledger", _L + "entries_after", "return _entries(session, after=seq)"): _PAGE,
    ("ledger", _L + "_chunked",
     "def _chunked(values: list[int], size: int = 501) -> Iterator[list[int]]:"):
        "the chunk size of an IN list: any size reads the same rows",
    ("ledger", _L + "_chunked", "for start in range(0, len(values), ):"):
        "overlapping chunks: more queries, the same rows",
    ("ledger", _L + "check_entries", "wanted = {e.seq - 1 for e in rows if e.seq >= 1}"):
        "also asks for entry 0, which never exists; its predecessor hash is the genesis anyway",
    ("ledger", _L + "check_entries", "None,"):
        "EntryCheck.seq is never read (checks are keyed by seq)",
    ("ledger", _L + "entry_digest", 'canonical = json.dumps(declaration, sort_keys=True, '
     'separators=(",", ":"), ensure_ascii=None)'): "ensure_ascii=None is falsy, as False",
    ("ledger", _L + "stored_hash",
     "context = [event.namespaces] if (event.namespaces) or True else None"):
        "an empty namespace map as context hashes as no context",
    ("ledger", _L + "lock_head", "elif session.get(None, HEAD_ID) is None:"): _GENERIC,
    ("ledger", _L + "lock_head", "elif session.get(LedgerHead, None) is None:"): _GENERIC,
    ("ledger", _L + "lock_head", "elif session.get(HEAD_ID) is None:"): _GENERIC,
    ("ledger", _L + "lock_head", "elif session.get(LedgerHead, ) is None:"): _GENERIC,
    ("ledger", _L + "lock_head", "elif session.get(LedgerHead, HEAD_ID) is not None:"): _GENERIC,
    ("ledger", _L + "lock_head", "session.execute(insert(LedgerHead).values(None))"): _GENERIC,
    ("ledger", _L + "lock_head", "session.execute(insert(None).values(values))"): _GENERIC,
    ("capture", _C + "_authorise", 'return "XXinspectors read events; they do not record themXX"'):
        _INSPECTOR,
    ("capture", _C + "_authorise", 'return "INSPECTORS READ EVENTS; THEY DO NOT RECORD THEM"'):
        _INSPECTOR,
    ("capture", _C + "_authorise",
     "foreign -= _custody(session, org, foreign) if (org is not None) or True else set()"):
        "a producer token always belongs to an organisation",
    ("capture", _C + "_custody", ".join(Event, None)"): _JOIN,
    ("capture", _C + "_custody", ".join(Event, )"): _JOIN,
    ("capture", _C + "_custody", "removed: EventEpc.batch_id.in_(batch_ids),"):
        "reads every batch the organisation received; the caller subtracts them from the "
        "foreign ones alone",
    ("recalls", _F, ".join(Event, None)"): _JOIN,
    ("recalls", _F, ".join(Event, )"): _JOIN,
    ("recalls", _F, ".join(RecallBatch, None)"): _JOIN,
    ("recalls", _F, ".join(RecallBatch, )"): _JOIN,
    ("recalls", _F, ".join(Recall, None)"): _JOIN,
    ("recalls", _F, ".join(Recall, )"): _JOIN,
    ("recalls", _F, "select(None).where(EventEpc.batch_id == Batch.id).scalar_subquery(),"):
        _EVENTS,
    ("recalls", _F, "select(func.count()).where(None).scalar_subquery(),"):
        "WHERE NULL: the count is always 0; " + _EVENTS,
    ("recalls", _F, ".where(None, Recall.closed_at.is_not(None))"):
        "WHERE NULL: the count is always 0; " + _CLOSING,
    ("recalls", _R + "close_recall", ".where(Recall.closed_at.is_(None), )"):
        "the recall being closed was flushed with its closed_at: closed_at IS NULL leaves it out",
    ("recalls", _R + "close_recall", ".join(Recall, None)"): _JOIN,
    ("recalls", _R + "close_recall", ".join(Recall, )"): _JOIN,
    ("recalls", _R + "close_recall", ".execution_options(synchronize_session=None)"): _SYNC,
    ("recalls", _R + "create_recall", ".execution_options(synchronize_session=None)"): _SYNC,
    ("recalls", _R + "downstream", _W + ".cte(None, recursive=True)"): _CTE,
    ("recalls", _R + "downstream", _W + ".cte(recursive=True)"): _CTE,
    ("recalls", _R + "downstream", _W + '.cte("XXdownXX", recursive=True)'): _CTE,
    ("recalls", _R + "downstream", _W + '.cte("DOWN", recursive=True)'): _CTE,
    ("recalls", _R + "create_recall",
     _IF + 'or session.get_bind().dialect.name == "postgresql":'): _STATS,
    ("recalls", _R + "create_recall",
     _IF + 'and session.get_bind().dialect.name != "postgresql":'): _STATS,
    ("recalls", _R + "create_recall",
     _IF + 'and session.get_bind().dialect.name == "XXpostgresqlXX":'): _STATS,
    ("recalls", _R + "create_recall",
     _IF + 'and session.get_bind().dialect.name == "POSTGRESQL":'): _STATS,
    ("recalls", _R + "create_recall", ".join(Organization, None)"): _JOIN,
    ("recalls", _R + "create_recall", ".join(Organization, )"): _JOIN,
    ("recalls", _R + "create_recall",
     "total = session.scalar(select(func.count()).select_from(covered.subquery())) or 1"):
        "a recall covers at least the batches it names: the count is never 0",
    ("recalls", _R + "create_recall", "created_at=None,"): _NOW,
    ("recalls", _R + "create_recall", "removed: created_at=_now(),"): _NOW,
    ("recalls", _R + "create_recall", 'session.execute(text("analyze recall_batch"))'): _CASE,
    ("recalls", _R + "create_recall", 'session.execute(text("ANALYZE RECALL_BATCH"))'): _CASE,
    ("recalls", "trace.services.lookup.x_recall_of", ".limit(None)"):
        "first() reads the first row of the ordered rows either way",
    ("recalls", "trace.services.lookup.x_recall_of", ".limit(2)"):
        "first() reads the first row of the ordered rows either way",
    ("recalls", "trace.services.lookup.x_recall_of", ".join(RecallBatch, None)"): _JOIN,
    ("recalls", "trace.services.lookup.x_recall_of", ".join(RecallBatch, )"): _JOIN,
    # The same text mutates max(record_time), killed by the Last-Modified test.
    ("recalls", _F, "over_events(None),"): _EVENTS,
    ("recalls", _F, "over_events(func.max(None)),"): _EVENTS,
    ("recalls", _F, ".where(RecallBatch.batch_id == Batch.id, )"): _CLOSING,
    ("recalls", _F, ".where(RecallBatch.batch_id == Batch.id, None)"): _CLOSING,
    # The same text mutates select(column) of the event columns, killed by Last-Modified.
    ("recalls", _F, "select(None)"): _CLOSING,
}  # fmt: skip

_RECURSIVE = (
    "SQLite runs a self-referencing CTE recursively without RECURSIVE, PostgreSQL refuses it "
    "(checked by hand: test_downstream_batch_shows_the_banner_until_closed fails there)"
)
_ANALYZE = (
    "the ANALYZE runs on PostgreSQL only (checked by hand: the XX mutant fails "
    "test_downstream_batch_shows_the_banner_until_closed there)"
)
#: Mutants that only PostgreSQL can tell from the original: left out of the score, and listed
#: apart, when the run uses SQLite (``TRACE_TEST_DATABASE_URL`` unset); scored on PostgreSQL.
POSTGRESQL_ONLY: dict[tuple[str, str, str], str] = {
    ("recalls", _R + "downstream", _W + '.cte("down", recursive=None)'): _RECURSIVE,
    ("recalls", _R + "downstream", _W + '.cte("down", )'): _RECURSIVE,
    ("recalls", _R + "downstream", _W + '.cte("down", recursive=False)'): _RECURSIVE,
    ("recalls", _R + "create_recall", "session.execute(None)"): _ANALYZE,
    ("recalls", _R + "create_recall", "session.execute(text(None))"): _ANALYZE,
    ("recalls", _R + "create_recall", 'session.execute(text("XXANALYZE recall_batchXX"))'):
        _ANALYZE,
}  # fmt: skip

#: Functions whose mutants mutmut never switches on: factories called while the module is
#: imported (``_CONVERTERS`` holds the closures they returned before any mutant was chosen), so
#: every mutant "survives" whatever the tests. Checked by hand instead: ``_gsrn`` with
#: ``18 - len(gcp)`` fails 11 tests of tests/gs1; ``_pattern`` without its check for a ``*``
#: before the last component changes nothing (each converter refuses ``*`` in a key anyway).
NOT_ACTIVATED: dict[str, str] = {
    "trace.gs1.epc.x__gsrn": "a factory run at import: mutmut cannot switch its mutants on",
    "trace.gs1.epc.x__pattern": "a factory run at import: mutmut cannot switch its mutants on",
}

_RESULT = re.compile(r"^\s*(?P<name>[\w.]+?)__mutmut_(?P<n>\d+): (?P<status>[\w ]+)$")


def _copy_checkout(work: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "instance", ".venv", "artifacts")
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, work / name, ignore=ignore)
        elif source.exists():
            shutil.copy2(source, work / name)


def _configure(work: Path, target: Target) -> None:
    config = {
        "source_paths": ["trace"],
        "only_mutate": target.files,
        "pytest_add_cli_args": ["-p", "no:cacheprovider", "-q", "-x"],
        "pytest_add_cli_args_test_selection": target.tests,
        "use_git_change_detection": False,
        # mutmut runs the tests in mutants/, which holds only trace/, tests/ and pyproject.toml
        # unless told: some tests read the published contract and the demo fixtures.
        "also_copy": [name for name in COPIED if name not in ("trace", "tests", "pyproject.toml")],
    }
    lines = ["", "[tool.mutmut]", *(f"{key} = {json.dumps(v)}" for key, v in config.items())]
    with (work / "pyproject.toml").open("a", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")


def _mutmut(work: Path, *args: str, log: Path | None = None) -> str:
    command = [sys.executable, "-m", "mutmut", *args]
    if log is None:
        return subprocess.run(command, cwd=work, capture_output=True, text=True).stdout
    with log.open("w") as out:
        subprocess.run(command, cwd=work, stdout=out, stderr=subprocess.STDOUT, check=False)
    return ""


MAX_DIFFS = 100
_DIFFS = """
import json, re, sys
from mutmut.mutation.diff_apply import get_diff_for_mutant
for name in sys.stdin.read().split():
    path = re.match(r"(.*?)[.]x[_\u01c1]", name)[1].replace(".", "/") + ".py"
    print(json.dumps([name, get_diff_for_mutant(name, path=path)]))
"""


def _mutated_lines(work: Path, mutants: list[str]) -> dict[str, str]:
    """The changed line(s) of each mutant, from mutmut's own diffs (one process for all)."""
    done = subprocess.run([sys.executable, "-c", _DIFFS], cwd=work, input="\n".join(mutants),
                          capture_output=True, text=True, check=True)  # fmt: skip
    lines = {}
    for row in done.stdout.splitlines():
        name, diff = json.loads(row)
        added = [d[1:].strip() for d in diff.splitlines() if d.startswith("+") and d[1:2] != "+"]
        removed = [d[1:].strip() for d in diff.splitlines() if d.startswith("-") and d[1:2] != "-"]
        lines[name] = " / ".join(added) if added else "removed: " + " / ".join(removed)
    return lines


def run_target(
    name: str, target: Target, work: Path, max_children: int, only: list[str], run: bool = True
) -> dict:
    """Run mutmut on one target in ``work`` (a fresh copy), or with ``run=False`` only read the
    results already there."""
    patterns = only or target.functions
    started = time.monotonic()
    if run:
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True)
        _copy_checkout(work)
        _configure(work, target)
        _mutmut(work, "run", "--max-children", str(max_children), *patterns,
                log=work / "mutmut-run.log")  # fmt: skip
    elapsed = time.monotonic() - started
    statuses: dict[str, str] = {}
    for line in _mutmut(work, "results", "--all", "true").splitlines():
        match = _RESULT.match(line)
        if match:
            statuses[f"{match['name']}__mutmut_{match['n']}"] = match["status"].strip()
    in_scope = [
        m
        for m in statuses
        if not patterns or any(re.fullmatch(re.escape(p).replace(r"\*", ".*"), m) for p in patterns)
    ]
    per_function: dict[str, Counter[str]] = defaultdict(Counter)
    survivors, equivalent, sqlite_blind = [], [], []
    alive = [m for m in in_scope if statuses[m] in {"survived", "no tests", "suspicious"}]
    unchecked = sum(statuses[m] == "not checked" for m in in_scope)
    if unchecked == len(in_scope) and in_scope:
        print(f"{name}: no mutant was checked; see {work / 'mutmut-run.log'}", file=sys.stderr)
    # Diffs cost seconds each: past MAX_DIFFS survivors only their names are listed.
    lines = _mutated_lines(work, alive) if len(alive) <= MAX_DIFFS else {}
    for mutant in sorted(in_scope, key=lambda m: (m.rsplit("__mutmut_", 1)[0], _number(m))):
        function = mutant.rsplit("__mutmut_", 1)[0]
        status = statuses[mutant]
        if status in {"survived", "no tests", "suspicious"}:
            line = lines.get(mutant, "")
            reason = EQUIVALENT.get((name, function, line)) or NOT_ACTIVATED.get(function)
            if not reason and not os.environ.get("TRACE_TEST_DATABASE_URL"):
                only_postgresql = POSTGRESQL_ONLY.get((name, function, line))
                if only_postgresql:
                    sqlite_blind.append((mutant, line, only_postgresql))
                    per_function[function]["postgresql only"] += 1
                    continue
            if reason:
                equivalent.append((mutant, line, reason))
                per_function[function]["equivalent"] += 1
                continue
            survivors.append((mutant, status, line))
        per_function[function][status] += 1
    return {
        "elapsed": elapsed,
        "per_function": per_function,
        "survivors": survivors,
        "equivalent": equivalent,
        "sqlite_blind": sqlite_blind,
    }


def _number(mutant: str) -> int:
    return int(mutant.rsplit("_", 1)[1])


def score(counts: Counter[str]) -> tuple[int, int]:
    """Killed and scored mutants; a mutant left unchecked (the run stopped) counts as alive."""
    killed = counts["killed"] + counts["timeout"]
    alive = ("survived", "no tests", "suspicious", "not checked")
    return killed, killed + sum(counts[status] for status in alive)


def report(name: str, result: dict) -> str:
    lines = [f"== {name} ({result['elapsed']:.0f} s)"]
    total: Counter[str] = Counter()
    for function, counts in sorted(result["per_function"].items()):
        total.update(counts)
        killed, scored = score(counts)
        extra = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if k != "killed")
        lines.append(f"  {function}: {killed}/{scored} killed" + (f" ({extra})" if extra else ""))
    killed, scored = score(total)
    percent = 100 * killed / scored if scored else 0.0
    lines.append(f"  SCORE {name}: {killed}/{scored} = {percent:.1f} % "
                 f"({total['equivalent']} equivalent left out"
                 + (f", {total['postgresql only']} PostgreSQL-only left out on SQLite"
                    if total["postgresql only"] else "") + ")")  # fmt: skip
    for mutant, status, line in result["survivors"]:
        lines.append(f"  {status}: {mutant}: {line}")
    for mutant, line, reason in result["equivalent"]:
        lines.append(f"  equivalent: {mutant}: {line} — {reason}")
    for mutant, line, reason in result["sqlite_blind"]:
        lines.append(f"  not exercised on SQLite: {mutant}: {line} — {reason}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", help=f"some of {', '.join(TARGETS)} (default: all)")
    parser.add_argument("--max-children", type=int, default=1)
    parser.add_argument("--work", type=Path, help="keep mutmut's work here (one folder a target)")
    parser.add_argument("--only", action="append", default=[], help="mutant name pattern")
    parser.add_argument("--report-only", action="store_true", help="report on --work as it is")
    args = parser.parse_args()
    unknown = sorted(set(args.targets) - set(TARGETS))
    if unknown:
        parser.error(f"unknown targets {unknown}; choose from {', '.join(TARGETS)}")
    base = args.work or Path(tempfile.mkdtemp(prefix="trace-mutation-"))
    for name in args.targets or list(TARGETS):
        work = base / name
        run = not args.report_only
        result = run_target(name, TARGETS[name], work, args.max_children, args.only, run)
        print(report(name, result), flush=True)
    print(f"mutmut work directories: {base}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
