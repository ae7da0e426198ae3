"""`python -m bench generate|run|profile`: the benchmark suite (see bench/README.md)."""

import argparse
import sys
from datetime import date

from bench.config import SCALES


def _generate(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from bench.load import generate

    scale = SCALES[args.scale]
    if args.database:
        scale = replace(scale, name=args.database.removeprefix("salesflow_bench_"))
    anchor = date.fromisoformat(args.anchor) if args.anchor else None
    report = generate(scale, args.seed, anchor, print, vacuum=args.vacuum)
    print(f"{report.database}: {sum(report.rows.values()):,} rows in {report.seconds['total']}s")
    return 0


def _run(args: argparse.Namespace) -> int:
    from bench.run import main

    return main(args)


def _profile(args: argparse.Namespace) -> int:
    from bench.profile import main

    return main(args)


def _batch(args: argparse.Namespace) -> int:
    from bench.batch import main

    return main(args)


def _reports(args: argparse.Namespace) -> int:
    from bench.reports import main

    return main(args)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    gen = commands.add_parser("generate", help="create, migrate and fill a bench database")
    gen.add_argument("--scale", choices=sorted(SCALES), default="small")
    gen.add_argument("--seed", type=int, default=20261125)
    gen.add_argument("--anchor", help="the dataset's 'today' (YYYY-MM-DD; default today, UTC)")
    gen.add_argument(
        "--database", help="database name (default salesflow_bench_<scale>); it is recreated"
    )
    gen.add_argument(
        "--vacuum", action="store_true", help="VACUUM ANALYZE at the end instead of ANALYZE"
    )
    gen.set_defaults(handler=_generate)

    run = commands.add_parser("run", help="EXPLAIN, probe and load-test every scenario")
    run.add_argument("--scale", choices=sorted(SCALES), default="small")
    run.add_argument("--scenario", action="append", help="only this scenario (repeatable)")
    run.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    run.add_argument("--connections", type=int, default=64)
    run.add_argument("--duration", type=float, default=10.0, help="seconds per measured run")
    run.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up per app")
    run.add_argument("--repeat", type=int, default=3, help="interleaved rounds")
    run.add_argument("--threads", type=int, default=1, help="wrk threads (wrk shares the CPU)")
    run.add_argument("--seq-scan-rows", type=int, help="a table this big must not be seq-scanned")
    run.add_argument(
        "--allow-seq-scan", action="store_true", help="load-test even if a plan seq-scans"
    )
    run.add_argument(
        "--explain-only", action="store_true", help="stop after the EXPLAIN gate (no load)"
    )
    run.set_defaults(handler=_run)

    prof = commands.add_parser("profile", help="cProfile one scenario's requests in-process")
    prof.add_argument("--scale", choices=sorted(SCALES), default="small")
    prof.add_argument("--scenario", required=True)
    prof.add_argument("--requests", type=int, default=2000)
    prof.add_argument("--top", type=int, default=30)
    prof.set_defaults(handler=_profile)

    batch = commands.add_parser(
        "batch",
        help="time recompute-tiers (100k customers, 1M deals) and one SLA sweep (1M tickets)",
    )
    batch.set_defaults(handler=_batch)

    reports = commands.add_parser(
        "reports", help="time every report for one team over one year (in-process)"
    )
    reports.add_argument("--scale", choices=sorted(SCALES), default="medium")
    reports.add_argument("--repeat", type=int, default=5, help="timed requests per report")
    reports.set_defaults(handler=_reports)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
