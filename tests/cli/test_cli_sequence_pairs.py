"""``lowlight sequence-pairs``: pairs on disk, eval-ready, with a report and a contact sheet."""

from __future__ import annotations

from click.testing import CliRunner

from lowlight.cli.main import cli
from lowlight.data.paired import PairedImageFolder


def test_writes_pairs_report_and_sheet(sequence_collection, tmp_path) -> None:  # noqa: ANN001
    out = tmp_path / "out"
    runner = CliRunner()
    args = ["sequence-pairs", str(sequence_collection), "-o", str(out), "--split", "train"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    low = sorted(p.name for p in (out / "train" / "low").iterdir())
    assert low == ["scene1_1.png", "scene1_2.png", "scene6_6.png", "scene6_7.png"]
    assert (out / "train" / "low" / "scene1_1.png").read_bytes() == (
        sequence_collection / "1.png"
    ).read_bytes()  # byte for byte
    assert (out / "train" / "high" / "scene1_1.png").read_bytes() == (
        sequence_collection / "4.png"
    ).read_bytes()
    pairs = PairedImageFolder.from_root(out / "train", crop=None)
    assert len(pairs) == 4  # default grouping (val_every 10): both scenes are training scenes
    report = (out / "report.md").read_text()
    assert "| multi-frame scenes | 2 |" in report and "3.png: shifted" in report
    assert (out / "scenes.jpg").stat().st_size > 0 and (out / "grouping.json").is_file()

    inputs_before = {p.name: p.read_bytes() for p in sequence_collection.iterdir()}
    again = runner.invoke(cli, args)  # existing files kept, inputs untouched
    assert again.exit_code == 0, again.output
    assert {p.name: p.read_bytes() for p in sequence_collection.iterdir()} == inputs_before
