"""``make bench`` / ``python -m bench``: every benchmark, results into docs/performance.md.

    python -m bench [--players 2000] [--duration 60] [--database-url URL]
                    [--only fanout,fanout2,baseline,conditional,workers,player,feeds,messages,
                            push,push2,storm,push10k] [--quick]

``push``, ``push2``, ``storm`` and ``push10k`` are protocol v2 through private nginx + nchan
edges (bench/push.py); with ``fanout`` in the same list, v1 runs on the same displays in
the same run and the two are compared.

Sections other than ``feeds`` are the player-protocol benchmark (bench/players.py, needs
PostgreSQL on 127.0.0.1); ``feeds`` is bench/feeds.py (10,000 notices, or 500 with --quick);
``messages`` is bench/messages.py (a warning to 10,000 e-mail and 10,000 push subscribers).
"""

from __future__ import annotations

import sys

from bench import feeds, messages, players, push, push_report


def main(argv: list[str]) -> int:
    names = list(players.SECTIONS) + list(push.SECTIONS) + ["feeds", "messages"]
    only = names
    rest: list[str] = []
    i = 0
    while i < len(argv):
        if argv[i] == "--only" and i + 1 < len(argv):
            only = [s.strip() for s in argv[i + 1].split(",") if s.strip()]
            i += 2
            continue
        if argv[i].startswith("--only="):
            only = [s.strip() for s in argv[i].split("=", 1)[1].split(",") if s.strip()]
            i += 1
            continue
        rest.append(argv[i])
        i += 1
    unknown = set(only) - set(names)
    if unknown:
        print(f"unknown sections: {', '.join(sorted(unknown))} (known: {', '.join(names)})")
        return 2
    code = 0
    pushed = [s for s in only if s in push.SECTIONS]
    if pushed:
        # v2 (issue 15), with v1's fan-out in the same run when asked for ("fanout").
        v1 = ["fanout"] if "fanout" in only else []
        args = players.parse(rest + ["--only", ",".join(v1 or ["player"])])
        args.only = v1 + pushed
        code = push_report.main(args)
        only = [s for s in only if s not in pushed and s != "fanout"]
    protocol = [s for s in only if s not in ("feeds", "messages")]
    if protocol and code == 0:
        code = players.main(rest + ["--only", ",".join(protocol)])
    if "feeds" in only and code == 0:
        print("== bench.feeds")
        quick = "--quick" in rest
        no_write = ["--no-write"] if "--no-write" in rest else []
        code = feeds.main((["--notices", "500", "--requests", "30"] if quick else []) + no_write)
    if "messages" in only and code == 0:
        print("== bench.messages")
        quick = ["--emails", "200", "--pushes", "200"] if "--quick" in rest else []
        code = messages.main(quick + (["--no-write"] if "--no-write" in rest else []))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
