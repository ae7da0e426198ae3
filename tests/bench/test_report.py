"""Summaries, JSON comparison, the markdown table and the docs section."""

from bench import report


def measurement(app: str, rps: float, workers: int = 1, **extra) -> dict:
    values = {
        "app": app,
        "workers": workers,
        "rps": rps,
        "p50_ms": 10.0,
        "p99_ms": 40.0,
        "errors": 0,
        "cpu_us_per_request": 500.0,
        "peak_rss_mb": 90.0,
    }
    return values | extra


def test_summary_takes_medians_and_keeps_the_range():
    runs = [measurement("service", r, p99_ms=p) for r, p in ((900, 30), (1000, 50), (1500, 45))]
    summary = report.summarize(runs)[("service", 1)]
    assert summary["rps"] == 1000 and summary["rps_min"] == 900 and summary["rps_max"] == 1500
    assert summary["p99_ms"] == 45
    assert summary["runs"] == 3


def test_json_comparison_reports_the_first_difference():
    ours = {"items": [{"id": "a", "tags": ["x"]}], "next_cursor": None}
    assert (
        report.compare_json(
            ours, {"items": [{"id": "a", "tags": ["x"]}], "next_cursor": None}, exact=True
        )
        is None
    )
    differs = report.compare_json(
        ours, {"items": [{"id": "a", "tags": '["x"]'}], "next_cursor": None}, exact=True
    )
    assert differs is not None and "tags" in differs
    missing = report.compare_json({"a": 1, "b": 2}, {"a": 1}, exact=False)
    assert missing is not None and "'b'" in missing
    assert report.compare_json({"id": "x"}, {"id": "y"}, exact=False) is None  # writes: shape


def document() -> dict:
    return {
        "timestamp": "20261125T100000Z",
        "scale": "tiny",
        "command": "python -m bench run --scale tiny",
        "machine": {
            "nproc": 2,
            "cpu_model": "AMD EPYC",
            "memory_gb": 23.5,
            "python": "3.11",
            "load_average": [0.5, 0.4, 0.3],
        },
        "settings": {"connections": 64, "wrk_threads": 1, "seconds": 5, "warmup": 2, "repeat": 3},
        "scenarios": [
            {
                "name": "customer_by_id",
                "skipped": None,
                "notes": [],
                "statements_per_request": 2,
                "probes": {},
                "seq_scans": [],
                "measurements": [
                    measurement("service", 1000),
                    measurement("fastapi", 2000),
                    measurement("starlette", 3000),
                ],
            },
            {
                "name": "pipeline_report",
                "skipped": "not registered",
                "notes": [],
                "statements_per_request": 0,
                "probes": {},
                "seq_scans": [],
                "measurements": [],
            },
        ],
    }


def test_markdown_shows_the_ratio_to_the_baseline_and_the_skipped_scenarios():
    text = report.markdown(document())
    service_row = next(line for line in text.splitlines() if "| service |" in line)
    assert "0.50x" in service_row
    assert "1.50x" in next(line for line in text.splitlines() if "| starlette |" in line)
    assert "`pipeline_report` skipped: not registered" in text
    assert "python -m bench run --scale tiny" in text


def test_docs_section_of_a_scale_is_replaced_and_the_rest_kept(tmp_path, monkeypatch):
    docs = tmp_path / "performance.md"
    docs.write_text("# Performance\n\nHand-written method.\n")
    monkeypatch.setattr(report, "DOCS_FILE", docs)
    report.update_docs(document(), "first table")
    report.update_docs(document(), "second table")
    text = docs.read_text()
    assert "Hand-written method." in text
    assert "second table" in text and "first table" not in text
    assert text.count("<!-- bench:tiny:start -->") == 1


def test_large_small_ratio_comes_from_the_latest_load_run_of_the_other_scale(tmp_path, monkeypatch):
    import json

    monkeypatch.setattr(report, "RESULTS_DIR", tmp_path)
    small = document() | {"scale": "small"}
    older = document() | {"scale": "large", "timestamp": "20261124T000000Z"}
    older["scenarios"][0]["measurements"][0] = measurement("service", 100)
    newer = document() | {"scale": "large", "timestamp": "20261125T000000Z"}
    newer["scenarios"][0]["measurements"][0] = measurement("service", 800)
    (tmp_path / "20261124T000000Z.json").write_text(json.dumps(older))
    (tmp_path / "20261125T000000Z.json").write_text(json.dumps(newer))
    # Batch and report timings share the directory and carry no load scenarios.
    (tmp_path / "batch-20261126T000000Z.json").write_text(json.dumps({"jobs": []}))
    (tmp_path / "reports-large-20261126T000000Z.json").write_text(
        json.dumps({"scale": "large", "reports": []})
    )
    service_row = next(
        line for line in report.markdown(small).splitlines() if "| service |" in line
    )
    assert service_row.rstrip(" |").endswith("1.25")  # 1,000 rps small / 800 rps large
