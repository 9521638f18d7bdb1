"""``lowlight models``: every registered model, the default marked, shipped weights with
their training data and licence."""

from __future__ import annotations

from click.testing import CliRunner

from lowlight.api import DEFAULT_MODEL, list_models
from lowlight.cli.main import cli
from lowlight.weights import shipped_records


def test_lists_models_default_and_shipped_weights_with_licence() -> None:
    result = CliRunner().invoke(cli, ["models"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    names = {line.split()[0] for line in lines[1:] if line and not line.startswith((" ", "*"))}
    assert set(list_models()) <= names | {"shipped"}
    assert any(line.split()[:2] == [DEFAULT_MODEL, "*"] for line in lines)
    for record in shipped_records().values():
        at = next(i for i, line in enumerate(lines) if line.strip().startswith(record.name + " "))
        assert record.sha256[:12] in lines[at]
        assert lines[at + 1].strip() == f"licence: {record.license}"
        if record.config:  # inference settings stored with the weights are shown
            assert "model settings of these weights" in lines[at + 2]
            assert all(f"{k}={v}" in lines[at + 2] for k, v in record.config.items())
