"""``lowlight synth``: LOL layout, records, seeding, selection, overwrite protection."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from lowlight.cli.main import cli
from lowlight.cli.synth import pair_seed
from lowlight.data.synthesis import LowLightSynthesizer


def _photo(level: float, seed: int, shape: tuple[int, int] = (36, 48)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    _, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    base = level + 0.1 * np.sin(xx / 6.0)[..., None] * np.array([1.0, 0.6, 0.3])
    return np.clip(base + rng.normal(0, 0.02, (*shape, 3)), 0, 1)


def _save(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((rgb * 255).round().astype(np.uint8)).save(path)


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    root = tmp_path / "src"
    _save(root / "a.png", _photo(0.45, 0))
    _save(root / "nested" / "b.png", _photo(0.5, 1))
    _save(root / "night.png", _photo(0.05, 2))
    return root


def _run(*args: str) -> object:
    return CliRunner().invoke(cli, ["synth", *args], catch_exceptions=False)


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_writes_lol_layout_and_records(photos, tmp_path):
    out = tmp_path / "out"
    result = _run(str(photos), "-o", str(out), "--seed", "3")
    assert result.exit_code == 0, result.output
    assert "2 of 3 examined sources selected" in result.output
    assert sorted(p.name for p in (out / "low").iterdir()) == ["a.png", "nested__b.png"]
    assert sorted(p.name for p in (out / "high").iterdir()) == ["a.png", "nested__b.png"]
    params = _rows(out / "params.csv")
    assert [r["name"] for r in params] == ["a", "nested__b"]
    assert {"source", "exposure", "gain_r", "gain_b", "shot", "read", "seed"} <= set(params[0])
    assert all(0.02 <= float(r["exposure"]) <= 0.3 for r in params)
    sources = _rows(out / "sources.csv")
    assert {r["name"]: r["reason"] for r in sources}["night"] == "too_dark"
    record = json.loads((out / "synth.json").read_text())
    assert record["counts"]["selected"] == 2 and record["counts"]["rejected"] == 1
    assert record["counts"]["rejected_by"]["too_dark"] == 1
    assert record["counts"]["pairs"] == 2
    assert record["synthesizer"]["exposure_range"] == [0.01, 0.08]
    assert record["selection"]["min_mean"] == 0.3
    assert record["seed"] == 3 and isinstance(record["command"], str)  # sys.argv of the caller
    low = np.asarray(Image.open(out / "low" / "a.png"), dtype=np.float32)
    high = np.asarray(Image.open(out / "high" / "a.png"), dtype=np.float32)
    assert low.shape == high.shape == (36, 48, 3)
    assert low.mean() < high.mean()


def test_output_reads_as_a_paired_dataset(photos, tmp_path):
    from lowlight.data.paired import PairedImageFolder

    out = tmp_path / "out"
    _run(str(photos), "-o", str(out), "-q")
    dataset = PairedImageFolder.from_root(out, crop=None, flips=False, rot90=False)
    assert len(dataset) == 2


def test_low_image_is_reproducible_from_the_records(photos, tmp_path):
    out = tmp_path / "out"
    _run(str(photos), "-o", str(out), "--seed", "5")
    row = _rows(out / "params.csv")[0]
    settings = json.loads((out / "synth.json").read_text())["synthesizer"]
    assert int(row["seed"]) == pair_seed(5, row["name"])
    high = np.asarray(Image.open(out / "high" / "a.png"), dtype=np.float32) / 255
    low, params = LowLightSynthesizer.from_dict(settings)(
        high, np.random.default_rng(int(row["seed"]))
    )
    assert params.exposure == pytest.approx(float(row["exposure"]), rel=1e-5)
    written = np.asarray(Image.open(out / "low" / "a.png"), dtype=np.float32)
    assert np.abs(low * 255 - written).max() <= 0.5 + 1e-3


def test_seeds_do_not_depend_on_other_sources(photos, tmp_path):
    _run(str(photos), "-o", str(tmp_path / "one"))
    _save(photos / "aa.png", _photo(0.4, 9))
    _run(str(photos), "-o", str(tmp_path / "two"))
    for name in ("a.png", "nested__b.png"):
        first = np.asarray(Image.open(tmp_path / "one" / "low" / name))
        second = np.asarray(Image.open(tmp_path / "two" / "low" / name))
        assert np.array_equal(first, second)


def test_refuses_to_overwrite(photos, tmp_path):
    out = tmp_path / "out"
    assert _run(str(photos), "-o", str(out)).exit_code == 0
    again = CliRunner().invoke(cli, ["synth", str(photos), "-o", str(out)])
    assert again.exit_code != 0
    assert "--overwrite" in str(again.exception) + again.output
    replaced = _run(str(photos), "-o", str(out), "--overwrite", "--seed", "1")
    assert replaced.exit_code == 0
    assert json.loads((out / "synth.json").read_text())["seed"] == 1


def test_options(photos, tmp_path):
    out = tmp_path / "out"
    result = _run(
        str(photos),
        "-o",
        str(out),
        "--per-source",
        "2",
        "--size",
        "24",
        "--no-noise",
        "--exposure",
        "0.1",
        "0.2",
        "--max-sources",
        "1",
        "-q",
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (out / "low").iterdir()) == ["a_0.png", "a_1.png"]
    assert Image.open(out / "high" / "a_0.png").size == (24, 18)
    record = json.loads((out / "synth.json").read_text())
    assert record["synthesizer"]["shot_range"] == [0.0, 0.0]
    assert record["synthesizer"]["exposure_range"] == [0.1, 0.2]
    assert record["counts"]["not_examined"] == 2
    params = _rows(out / "params.csv")
    assert [float(r["shot"]) for r in params] == [0.0, 0.0]
    assert params[0]["seed"] != params[1]["seed"]


def test_selection_thresholds_and_no_select(photos, tmp_path):
    loose = _run(str(photos), "-o", str(tmp_path / "l"), "--min-mean", "0.01", "-q")
    assert "2 of 3" in loose.output and "1 clipped dark" in loose.output  # night is crushed
    looser = ["--min-mean", "0.01", "--max-clipped", "1", "-q"]
    assert "3 of 3" in _run(str(photos), "-o", str(tmp_path / "l2"), *looser).output
    everything = _run(str(photos), "-o", str(tmp_path / "e"), "--no-select", "-q")
    assert "3 of 3" in everything.output
    strict = _run(str(photos), "-o", str(tmp_path / "s"), "--max-mean", "0.46", "-q")
    assert "1 of 3" in strict.output


def test_dry_run_writes_nothing(photos, tmp_path):
    out = tmp_path / "out"
    result = _run(str(photos), "-o", str(out), "--dry-run")
    assert result.exit_code == 0 and "dry run" in result.output
    assert not out.exists()


def test_unreadable_sources_are_skipped_and_counted(photos, tmp_path):
    (photos / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\ngarbage")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["synth", str(photos), "-o", str(out)])
    assert result.exit_code == 0
    record = json.loads((out / "synth.json").read_text())
    assert record["counts"]["rejected_by"]["unreadable"] == 1
    assert record["counts"]["pairs"] == 2


def test_invalid_range_is_a_clean_error(photos, tmp_path):
    result = CliRunner().invoke(
        cli, ["synth", str(photos), "-o", str(tmp_path / "o"), "--exposure", "0.3", "0.1"]
    )
    assert result.exit_code != 0
    assert "exposure_range" in str(result.exception)
