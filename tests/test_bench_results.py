"""``make bench`` rewrites bench/RESULTS.md below its marker and keeps the notes above it."""

from bench.__main__ import MARKER, kept_preface


def test_notes_above_the_marker_are_kept(tmp_path):
    results = tmp_path / "RESULTS.md"
    results.write_text(f"# Results\n\nverdict by hand\n\n{MARKER}\n\n## bench_old\nold output\n",
                       encoding="utf-8")
    preface = kept_preface(results)
    assert preface == f"# Results\n\nverdict by hand\n\n{MARKER}\n\n"
    assert "old output" not in preface


def test_a_file_without_the_marker_gets_a_title_and_the_marker(tmp_path):
    assert kept_preface(tmp_path / "missing.md") == f"# Benchmark results\n\n{MARKER}\n\n"
    (tmp_path / "plain.md").write_text("# Benchmark results\n\nold output\n", encoding="utf-8")
    assert kept_preface(tmp_path / "plain.md") == f"# Benchmark results\n\n{MARKER}\n\n"
