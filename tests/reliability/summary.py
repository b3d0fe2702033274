"""Prints the figures of the last reliability run: one line per test, from $RELIABILITY_RESULTS/*.json.

    python3 tests/reliability/summary.py [RESULTS_DIR] [--markdown]
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

COLUMNS = [("test", 34), ("result", 7), ("secs", 5), ("kills", 5), ("ok", 6), ("failed", 6), ("unknown", 7),
           ("lost", 4), ("dup", 3), ("events", 6), ("mails", 5), ("viol", 4)]


def row(d: dict) -> list[str]:
    return [d.get("test", "?"), d.get("outcome", "?"), f"{d.get('seconds', 0):.0f}", str(d.get("kills", 0)),
            str(d.get("ops_ok", 0)), str(d.get("ops_failed", 0)), str(d.get("ops_unknown", 0)), str(d.get("lost", 0)),
            str(d.get("duplicated", 0)), str(d.get("events", "-")), str(d.get("mails", "-")), str(len(d.get("violations", [])))]


def extras(d: dict) -> str:
    parts = []
    for key, label in (("kills_of_serve", "kills of serve"), ("kills_of_workers", "kills of workers"),
                       ("refused_connections", "refused connections"), ("restart_seconds_max", "slowest restart s"),
                       ("sigterms", "SIGTERMs"), ("sigterm_exit_seconds_max", "slowest SIGTERM exit s"),
                       ("sigterm_ignored", "SIGTERMs ignored"), ("postgres_restarts", "PostgreSQL restarts"),
                       ("sigterm_exit_seconds", "SIGTERM exit s"), ("disk_full_cycles", "disk-full cycles"),
                       ("commands_while_full", "commands while full"), ("refused_503_while_full", "503s while full"),
                       ("cases", "hostile cases"), ("empty_4xx", "4xx with empty body"), ("max_seconds", "slowest case s"),
                       ("slow_connections", "slow connections"), ("slow_closed_by_server", "closed by server"),
                       ("slow_close_seconds_max", "slowest close s"), ("slow_still_open", "still open"),
                       ("ordinary_max_seconds", "slowest ordinary request s"), ("answers_5xx", "5xx answers"),
                       ("acknowledged_events", "acknowledged events"), ("unexplained_events", "unexplained events"),
                       ("completions_with_stakeholder", "completions to mail"), ("seed", "seed")):
        if key in d and d[key] not in (None, 0, {}) or key in ("unexplained_events",) and key in d:
            value = round(d[key], 2) if isinstance(d[key], float) else d[key]
            parts.append(f"{label} {value}")
    if d.get("skip_reason"):
        parts.append(f"skipped: {d['skip_reason']}")
    if d.get("note"):
        parts.append(d["note"])
    return ", ".join(parts)


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    markdown = "--markdown" in sys.argv
    results = Path(args[0] if args else os.environ.get("RELIABILITY_RESULTS", ".build/reliability"))
    files = sorted(results.glob("*.json"))
    if not files:
        print(f"(no reliability figures in {results})")
        return 0
    data = [json.loads(f.read_text()) for f in files]
    if markdown:
        print("| " + " | ".join(c for c, _ in COLUMNS) + " |")
        print("|" + "---|" * len(COLUMNS))
        for d in data:
            print("| " + " | ".join(row(d)) + " |")
        return 0
    print()
    print(f"== reliability figures (profile {data[0].get('profile')}, seed {data[0].get('seed')}, {results})")
    print("  ".join(c.ljust(w) for c, w in COLUMNS))
    for d in data:
        print("  ".join(v.ljust(w) for v, (_, w) in zip(row(d), COLUMNS)))
    print()
    for d in data:
        line = extras(d)
        if line:
            print(f"  {d.get('test')}: {line}")
    for d in data:
        if d.get("violations"):
            print(f"\n  {d.get('test')}: {len(d['violations'])} violation(s)")
            for v in d["violations"][:12]:
                print("    - " + v.replace("\n", "\n      ")[:400])
            if len(d["violations"]) > 12:
                print(f"    … {len(d['violations']) - 12} more in {results / (d.get('test', '') + '.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
