"""Summaries: medians over repeats, ratios to the baseline, the markdown table."""

import json
import re
import statistics
from collections import defaultdict
from typing import Any

from bench.config import DOCS_FILE, RESULTS_DIR

TARGETS = """\
Targets (reported, not asserted): reads >= 50% of the baseline's rps at 64 connections,
writes >= 35%; p99 <= 50 ms for reads; large/small <= 1.5 for lists; a page 1,000 deep
about as fast as the first; peak RSS <= 200 MB per worker; no errors."""


def compare_json(ours: Any, theirs: Any, *, exact: bool) -> str | None:
    """None when the documents match (values for reads, field names for writes)."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        if set(ours) != set(theirs):
            missing, extra = sorted(set(ours) - set(theirs)), sorted(set(theirs) - set(ours))
            return f"fields only in the service: {missing}; only in the baseline: {extra}"
        for key in ours:
            verdict = compare_json(ours[key], theirs[key], exact=exact)
            if verdict:
                return f"{key}: {verdict}"
        return None
    if isinstance(ours, list) and isinstance(theirs, list):
        if exact and len(ours) != len(theirs):
            return f"{len(ours)} items vs {len(theirs)}"
        for a, b in zip(ours, theirs, strict=False):
            verdict = compare_json(a, b, exact=exact)
            if verdict:
                return f"[item] {verdict}"
        return None
    if exact and ours != theirs:
        return f"{ours!r} != {theirs!r}"
    return None


def summarize(measurements: list[dict[str, Any]]) -> dict[tuple[str, int], dict[str, Any]]:
    """Per (app, workers): medians over the repeats, and the rps range."""
    groups: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for m in measurements:
        groups[(m["app"], m["workers"])].append(m)
    summary = {}
    for key, items in groups.items():
        rps = [m["rps"] for m in items]
        summary[key] = {
            "runs": len(items),
            "rps": statistics.median(rps),
            "rps_min": min(rps),
            "rps_max": max(rps),
            "p50_ms": statistics.median(m["p50_ms"] for m in items),
            "p99_ms": statistics.median(m["p99_ms"] for m in items),
            "errors": sum(m["errors"] for m in items),
            "cpu_us": statistics.median(m["cpu_us_per_request"] for m in items),
            "rss_mb": max(m["peak_rss_mb"] for m in items),
        }
    return summary


def other_scale(document: dict[str, Any]) -> dict[str, Any] | None:
    """The latest results of the other scale, for the large/small ratio."""
    other = {"small": "large", "large": "small"}.get(document["scale"])
    if other is None:
        return None
    candidates = []
    for path in sorted(RESULTS_DIR.glob("*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        # Load runs only: the batch and report timings share the directory.
        if data.get("scale") == other and "scenarios" in data:
            candidates.append(data)
    return candidates[-1] if candidates else None


def _fmt(value: float, digits: int = 1) -> str:
    return f"{value:,.{digits}f}"


def markdown(document: dict[str, Any]) -> str:
    machine = document["machine"]
    settings = document["settings"]
    other = other_scale(document)
    other_summaries = {}
    if other:
        other_summaries = {s["name"]: summarize(s["measurements"]) for s in other["scenarios"]}
    lines = [
        f"Scale **{document['scale']}**, run {document['timestamp']} on {machine['nproc']} "
        f"CPUs ({machine['cpu_model']}), {machine['memory_gb']} GB, Python {machine['python']}; "
        f"load average at the end {', '.join(f'{x:.2f}' for x in machine['load_average'])}.",
        "",
        f"Command: `{document['command']}` — wrk -c{settings['connections']} "
        f"-t{settings['wrk_threads']}, {settings['seconds']:g}s per run after "
        f"{settings['warmup']:g}s warm-up, {settings['repeat']} interleaved rounds; medians "
        "(rps range min-max). CPU is the server workers' user+system time per request.",
        "",
        "| scenario | workers | app | rps (min-max) | p50 ms | p99 ms | errors | CPU µs/req "
        "| peak RSS MB/worker | vs baseline | large/small |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    notes = []
    for scenario in document["scenarios"]:
        if scenario["skipped"]:
            notes.append(f"- `{scenario['name']}` skipped: {scenario['skipped']}")
            continue
        summary = summarize(scenario["measurements"])
        previous = other_summaries.get(scenario["name"], {})
        for (app, workers), s in sorted(summary.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            base = summary.get(("fastapi", workers))
            ratio = f"{s['rps'] / base['rps']:.2f}x" if base and app != "fastapi" else "—"
            scale_ratio = "—"
            before = previous.get((app, workers))
            if before:
                small, large = (s, before) if document["scale"] == "small" else (before, s)
                scale_ratio = f"{small['rps'] / large['rps']:.2f}"
            lines.append(
                f"| {scenario['name']} | {workers} | {app} | {_fmt(s['rps'], 0)} "
                f"({_fmt(s['rps_min'], 0)}-{_fmt(s['rps_max'], 0)}) | {_fmt(s['p50_ms'])} "
                f"| {_fmt(s['p99_ms'])} | {s['errors']} | {_fmt(s['cpu_us'], 0)} "
                f"| {_fmt(s['rss_mb'], 0)} | {ratio} | {scale_ratio} |"
            )
        for note in scenario["notes"]:
            notes.append(f"- `{scenario['name']}`: {note}")
        notes.append(
            f"- `{scenario['name']}`: {scenario['statements_per_request']} SQL statements per "
            f"request in the service; probes {scenario['probes']}"
        )
        notes += [f"- **{line}**" for line in scenario["seq_scans"]]
    lines += [
        "",
        "`vs baseline` is rps ÷ the FastAPI + raw asyncpg baseline's at the same "
        "worker count; `large/small` is small-scale rps ÷ large-scale rps.",
        "",
        *notes,
    ]
    return "\n".join(lines)


def update_docs(document: dict[str, Any], table: str) -> None:
    """Replace this scale's section of docs/performance.md, keeping the rest."""
    scale = document["scale"]
    start, end = f"<!-- bench:{scale}:start -->", f"<!-- bench:{scale}:end -->"
    text = DOCS_FILE.read_text() if DOCS_FILE.exists() else ""
    section = f"{start}\n{table}\n{end}"
    if start in text and end in text:
        text = re.sub(
            re.escape(start) + r".*?" + re.escape(end), lambda _: section, text, flags=re.S
        )
    else:
        text = text.rstrip() + f"\n\n## Results: {scale} scale\n\n{section}\n"
    DOCS_FILE.write_text(text)
