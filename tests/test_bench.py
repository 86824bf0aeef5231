"""The bench (scripts/bench.py): its medians, its targets and their checks, how it prints a figure and the summary
line, its arguments, and one tiny run end to end on SQLite that shows the tool runs (its timings are not looked at:
speed belongs to the bench, not to the test suite)."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "bench.py"
_spec = importlib.util.spec_from_file_location("bench", SCRIPT)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)
bench_worker = sys.modules["bench_worker"]  # its sibling, imported by it


# --- medians and ratios -----------------------------------------------------------------------------------------


def test_the_median_is_the_middle_value_or_the_mean_of_the_two_middle_ones():
    assert bench_worker.median([5.0, 1.0, 3.0]) == 3.0
    assert bench_worker.median([4.0, 1.0, 3.0, 2.0]) == 2.5


def test_the_median_of_nothing_is_none():
    assert bench_worker.median([]) is None


def test_a_ratio_to_the_raw_limit_is_blank_when_either_figure_is_missing():
    assert bench.ratio(30.0, 10.0) == "3.00x"
    assert bench.ratio(None, 10.0) == ""
    assert bench.ratio(30.0, None) == ""


# --- targets ----------------------------------------------------------------------------------------------------


def test_a_target_is_met_up_to_its_limit_or_below_it_when_strict():
    assert bench.Target("action_ms", 25).met(25.0)
    assert not bench.Target("action_ms", 25).met(25.1)
    assert not bench.Target("peak_mib", 250, strict=True).met(250.0)
    assert bench.Target("peak_mib", 250, strict=True).met(249.9)


def test_a_target_applies_to_its_size_and_database_only():
    activation = bench.Target("activation_ms", 1000, size="reference", database="postgresql")

    assert activation.applies("reference", "postgresql")
    assert not activation.applies("reference", "sqlite")
    assert not activation.applies("scale", "postgresql")
    assert bench.Target("action_ms", 25).applies("scale", "sqlite")


def test_the_checks_of_a_size_hold_the_issues_targets_and_a_figure_not_measured_is_not_met():
    figures = {"action_ms": 12.0, "action_queries": 14, "matrix_ms": 280.0, "matrix_bytes": 2_360_000}

    checks = {
        (target.key, target.limit): (value, met) for target, value, met in bench.check(figures, "reference", "sqlite")
    }

    assert checks[("action_ms", 25)] == (12.0, True)
    assert checks[("action_queries", 10)] == (14, False)
    assert checks[("matrix_ms", 300)] == (280.0, True)
    assert checks[("matrix_bytes", 1.5 * bench.MB)] == (2_360_000, False)
    assert checks[("matrix_ratio", 4)] == (None, False)
    assert ("activation_ms", 1000) not in checks  # PostgreSQL's target
    assert ("dashboard_ms", 150) not in checks  # lists have a target at scale only


def test_at_scale_the_first_matrix_response_its_memory_and_the_lists_have_targets():
    keys = {target.key: target.limit for target, _, _ in bench.check({}, "scale", "postgresql")}

    assert keys["matrix_ms"] == 500
    assert keys["peak_mib"] == 250
    assert {"dashboard_ms", "customers_ms", "step_across_ms", "audit_ms"} <= keys.keys()
    assert "matrix_ratio" not in keys


# --- printing ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("matrix_ms", 472.4, "472 ms"),
        ("activation_ms", 2014.0, "2,014 ms"),
        ("raw_action_ms", 1.234, "1.2 ms"),
        ("matrix_bytes", 2_360_000, "2.36 MB"),
        ("audit_bytes", 41_500, "41.5 kB"),
        ("peak_mib", 919.4, "919 MiB"),
        ("matrix_ratio", 29.54, "29.5x"),
        ("action_queries", 12, "12"),
        ("matrix_ms", None, "-"),
    ],
)
def test_a_figure_is_printed_in_the_unit_its_key_names(key, value, shown):
    assert bench.format_value(key, value) == shown


def test_the_summary_line_counts_the_targets_met_and_names_those_missed():
    checks = [
        ("reference", (bench.Target("action_ms", 25), 12.0, True)),
        ("scale", (bench.Target("action_ms", 25), 205.0, False)),
        ("scale", (bench.Target("peak_mib", 250, strict=True), None, False)),
    ]

    line = bench.summary_line("sqlite", checks)

    assert line == (
        "sqlite: 1/3 targets met; missed: scale action_ms 205 ms (target ≤ 25 ms), scale peak_mib - (target < 250 MiB)"
    )


def test_the_summary_line_of_a_database_that_meets_every_target_names_none():
    assert bench.summary_line("postgresql", [("reference", (bench.Target("action_ms", 25), 9.0, True))]) == (
        "postgresql: 1/1 targets met"
    )


# --- a matrix that loads its tables as they scroll into view ----------------------------------------------------


def test_the_parts_a_page_loads_as_it_scrolls_are_its_hx_gets_triggered_by_intersect_or_revealed():
    page = (
        '<table id="t1"></table>'
        '<div class="matrix-later" hx-get="/releases/1/matrix/?category=deploy&amp;table=2" '
        'hx-trigger="intersect once" hx-swap="outerHTML"></div>'
        '<div hx-trigger="revealed" hx-get="?category=deploy&amp;table=3"></div>'
        '<div id="bulk-bar" hx-get="/releases/1/bulk/" hx-trigger="load"></div>'
        '<a hx-get="?category=verify">Verify</a>'
    )

    assert bench_worker.lazy_urls(page, "http://localhost/releases/1/matrix/?category=deploy") == [
        "http://localhost/releases/1/matrix/?category=deploy&table=2",
        "http://localhost/releases/1/matrix/?category=deploy&table=3",
    ]


def test_a_page_without_lazy_parts_loads_in_one_request():
    assert bench_worker.lazy_urls('<form hx-get="/x" hx-trigger="change, submit"></form>', "http://localhost/") == []


# --- arguments --------------------------------------------------------------------------------------------------


def test_by_default_the_bench_builds_the_issues_sizes_and_takes_medians_of_seven():
    args = bench.parse_args([])

    assert (args.customers, args.steps, args.scale_customers, args.scale_steps, args.repeats) == (500, 40, 2000, 100, 7)


def test_quick_takes_smaller_sizes_and_fewer_runs_unless_told_otherwise():
    args = bench.parse_args(["--quick", "--repeats", "5"])

    assert (args.customers, args.steps, args.scale_customers, args.scale_steps) == (100, 20, 400, 40)
    assert args.repeats == 5


def test_the_bench_refuses_a_postgresql_database_whose_name_does_not_say_it_is_disposable():
    with pytest.raises(SystemExit, match="must contain 'bench'"):
        bench.parse_database_url("postgres://postgres@127.0.0.1:5432/rollcall", bench.MARKER)


# --- end to end -------------------------------------------------------------------------------------------------


def test_a_tiny_bench_on_sqlite_prints_every_figure_and_a_summary_line():
    arguments = ["--customers", "3", "--steps", "4", "--scale-customers", "3", "--scale-steps", "4", "--repeats", "1"]
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--no-postgres", *arguments], capture_output=True, text=True, timeout=180
    )

    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "FAILED" not in output, output
    for size in ("reference", "scale"):
        assert f"sqlite · {size} 3 customers x 4 steps (12 customer steps and their events)" in output, output
    for figure in (
        "activation",
        "matrix, one category",
        "process peak memory",
        "mark done from the panel",
        "audit page",
    ):
        assert re.search(rf"^ +{figure} +\S", output, re.MULTILINE), output
    assert re.search(r"executemany [\d.,]+ ms", output), output
    assert re.search(r"^sqlite: \d+/\d+ targets met", output, re.MULTILINE), output
