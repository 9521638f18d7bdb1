"""list_images: files, folders (mirrored), globs, filtering, sorting, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from lowlight.errors import LowlightError
from lowlight.io import FORMAT_EXTENSIONS, IMAGE_EXTENSIONS, list_images


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "in"
    for name in [
        "a.png",
        "b.JPG",
        "notes.txt",
        ".hidden.png",
        "sub/c.tif",
        "sub/deeper/d.webp",
        "sub/deeper/e.jpeg",
        "sub/readme.md",
        ".git/x.png",
        "other/f.bmp",
        "other/g.TIFF",
    ]:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    return root


def _rel(pairs: list[tuple[Path, Path]]) -> list[str]:
    return [rel.as_posix() for _, rel in pairs]


def test_constants() -> None:
    assert {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"} == IMAGE_EXTENSIONS
    assert FORMAT_EXTENSIONS["png"] == ".png"
    assert FORMAT_EXTENSIONS["jpeg"] == FORMAT_EXTENSIONS["jpg"] == ".jpg"
    assert {"bmp", "tiff", "webp"} <= FORMAT_EXTENSIONS.keys()
    assert all(ext in IMAGE_EXTENSIONS for ext in FORMAT_EXTENSIONS.values())


def test_folder_is_mirrored(tree: Path) -> None:
    pairs = list_images([tree])
    assert _rel(pairs) == [
        "a.png",
        "b.JPG",
        "other/f.bmp",
        "other/g.TIFF",
        "sub/c.tif",
        "sub/deeper/d.webp",
        "sub/deeper/e.jpeg",
    ]
    for file, rel in pairs:
        assert file == tree / rel


def test_not_recursive(tree: Path) -> None:
    assert _rel(list_images([tree], recursive=False)) == ["a.png", "b.JPG"]


def test_files_and_strings(tree: Path) -> None:
    pairs = list_images([str(tree / "sub" / "c.tif"), tree / "notes.txt"])
    # a file named on purpose is listed whatever its extension (reading it then fails by name)
    assert pairs == [
        (tree / "notes.txt", Path("notes.txt")),
        (tree / "sub" / "c.tif", Path("c.tif")),
    ]
    assert list_images(str(tree / "a.png")) == [(tree / "a.png", Path("a.png"))]


def test_explicit_hidden_file_is_kept(tree: Path) -> None:
    assert _rel(list_images([tree / ".hidden.png"])) == [".hidden.png"]


def test_glob_relative_to_literal_prefix(tree: Path) -> None:
    assert _rel(list_images([str(tree / "*" / "*.tif*")])) == ["sub/c.tif"]
    assert _rel(list_images([str(tree / "**" / "*.jp*g")])) == ["sub/deeper/e.jpeg"]
    assert _rel(list_images([str(tree / "*.png")])) == ["a.png"]


def test_glob_matching_folders_expands_them(tree: Path) -> None:
    assert _rel(list_images([str(tree / "s*")])) == [
        "sub/c.tif",
        "sub/deeper/d.webp",
        "sub/deeper/e.jpeg",
    ]
    assert _rel(list_images([str(tree / "s*")], recursive=False)) == ["sub/c.tif"]


def test_relative_glob(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tree)
    assert list_images(["*.png"]) == [(Path("a.png"), Path("a.png"))]


def test_deduplicated_and_sorted(tree: Path) -> None:
    pairs = list_images([tree / "sub", tree / "a.png", tree, str(tree / "sub" / "*.tif")])
    files = [file for file, _ in pairs]
    assert len(files) == len({f.resolve() for f in files}) == 7
    assert files == sorted(files, key=str)
    # the first input that reached a file decides its relative path
    assert dict((f.name, r.as_posix()) for f, r in pairs)["c.tif"] == "c.tif"


def test_missing_inputs(tree: Path) -> None:
    with pytest.raises(LowlightError, match="not found"):
        list_images([tree / "missing.png"])
    with pytest.raises(LowlightError, match="no files match"):
        list_images([str(tree / "*.gif")])


def test_empty_folder(tmp_path: Path) -> None:
    assert list_images([tmp_path]) == []
