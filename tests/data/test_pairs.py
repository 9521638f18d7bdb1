"""Pairing of input/target folders by stem, and detection of paired dataset layouts."""

from __future__ import annotations

from pathlib import Path

import pytest

from lowlight.data.pairs import (
    MAX_LISTED,
    PairingError,
    detect_layout,
    find_pairs,
    images_by_stem,
    natural_key,
    resolve_paired_root,
)
from lowlight.errors import LowlightError


def _touch(folder: Path, *names: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"")


class TestNaturalKey:
    def test_numbers_compare_as_integers(self) -> None:
        names = ["img10", "img2", "img1", "Img3", "a", "img02"]
        assert sorted(names, key=natural_key) == ["a", "img1", "img02", "img2", "Img3", "img10"]

    def test_lol_stems(self) -> None:
        stems = ["779", "1", "111", "22", "55"]
        assert sorted(stems, key=natural_key) == ["1", "22", "55", "111", "779"]


class TestFindPairs:
    def test_pairs_by_stem_in_natural_order(self, tmp_path: Path) -> None:
        _touch(tmp_path / "in", "10.png", "2.png", "1.jpg", "notes.txt")
        _touch(tmp_path / "gt", "1.png", "2.png", "10.PNG")
        pairs = find_pairs(tmp_path / "in", tmp_path / "gt")
        assert [p.stem for p in pairs] == ["1", "2", "10"]
        assert pairs[0].input == tmp_path / "in" / "1.jpg"
        assert pairs[0].target == tmp_path / "gt" / "1.png"
        assert pairs[2].target == tmp_path / "gt" / "10.PNG"

    def test_not_recursive_and_skips_hidden(self, tmp_path: Path) -> None:
        _touch(tmp_path / "in", "a.png", ".b.png")
        _touch(tmp_path / "in" / "sub", "c.png")
        _touch(tmp_path / "gt", "a.png")
        assert [p.stem for p in find_pairs(tmp_path / "in", tmp_path / "gt")] == ["a"]

    def test_stems_are_case_sensitive(self, tmp_path: Path) -> None:
        _touch(tmp_path / "in", "A.png")
        _touch(tmp_path / "gt", "a.png")
        with pytest.raises(PairingError) as err:
            find_pairs(tmp_path / "in", tmp_path / "gt")
        assert "A" in str(err.value) and "a" in str(err.value)

    def test_all_missing_partners_in_one_error(self, tmp_path: Path) -> None:
        _touch(tmp_path / "in", "1.png", "2.png", "3.png", "x.png")
        _touch(tmp_path / "gt", "1.png", "4.png", "5.png")
        with pytest.raises(PairingError) as err:
            find_pairs(tmp_path / "in", tmp_path / "gt")
        message = str(err.value)
        assert isinstance(err.value, LowlightError)
        assert "3 input(s) without a target" in message and "2, 3, x" in message
        assert "2 target(s) without an input" in message and "4, 5" in message

    def test_listing_is_capped(self, tmp_path: Path) -> None:
        many = [f"{i}.png" for i in range(MAX_LISTED + 7)]
        _touch(tmp_path / "in", "a.png", *many)
        _touch(tmp_path / "gt", "a.png")
        with pytest.raises(PairingError, match=r"\.\.\. and 7 more"):
            find_pairs(tmp_path / "in", tmp_path / "gt")

    def test_ambiguous_stem(self, tmp_path: Path) -> None:
        _touch(tmp_path / "in", "a.png", "a.jpg")
        with pytest.raises(PairingError, match="a.jpg, a.png"):
            images_by_stem(tmp_path / "in")

    def test_missing_or_empty_folder(self, tmp_path: Path) -> None:
        _touch(tmp_path / "gt", "a.png")
        with pytest.raises(PairingError, match="not a directory"):
            find_pairs(tmp_path / "nope", tmp_path / "gt")
        (tmp_path / "empty").mkdir()
        with pytest.raises(PairingError, match="no images"):
            find_pairs(tmp_path / "empty", tmp_path / "gt")


class TestLayouts:
    @pytest.mark.parametrize(
        ("low", "high", "layout"),
        [
            ("low", "high", "LOL"),
            ("Low", "Normal", "LOL-v2"),
            ("input", "target", "input/target"),
            ("input", "gt", "input/gt"),
        ],
    )
    def test_detects(self, tmp_path: Path, low: str, high: str, layout: str) -> None:
        (tmp_path / low).mkdir()
        (tmp_path / high).mkdir()
        (tmp_path / "other").mkdir()
        name, input_dir, target_dir = detect_layout(tmp_path)
        assert name == layout
        assert resolve_paired_root(tmp_path) == (tmp_path / low, tmp_path / high)
        assert (input_dir, target_dir) == (tmp_path / low, tmp_path / high)

    def test_case_insensitive_fallback(self, tmp_path: Path) -> None:
        (tmp_path / "LOW").mkdir()
        (tmp_path / "High").mkdir()
        assert resolve_paired_root(tmp_path) == (tmp_path / "LOW", tmp_path / "High")

    def test_unknown_layout_lists_known(self, tmp_path: Path) -> None:
        (tmp_path / "dark").mkdir()
        with pytest.raises(PairingError) as err:
            resolve_paired_root(tmp_path)
        message = str(err.value)
        for part in ("low/ + high/", "Low/ + Normal/", "input/ + target/", "input/ + gt/", "dark"):
            assert part in message

    def test_ambiguous_layout(self, tmp_path: Path) -> None:
        for name in ("input", "target", "gt"):
            (tmp_path / name).mkdir()
        with pytest.raises(PairingError, match="several"):
            resolve_paired_root(tmp_path)

    def test_not_a_directory(self, tmp_path: Path) -> None:
        with pytest.raises(PairingError, match="not a directory"):
            resolve_paired_root(tmp_path / "missing")
