"""Data-parallel training with two CPU processes on the gloo backend, started by torchrun."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
import yaml

from lowlight.train.config import parse_config
from lowlight.train.trainer import Trainer

HELPER = Path(__file__).with_name("_tiny.py")
SRC = Path(__file__).resolve().parents[2] / "src"

SCRIPT = textwrap.dedent(
    """
    import importlib.util, os, sys
    import torch
    spec = importlib.util.spec_from_file_location("_tiny", {helper!r})
    tiny = importlib.util.module_from_spec(spec)
    sys.modules["_tiny"] = tiny
    spec.loader.exec_module(tiny)
    tiny.register()
    from lowlight.train.config import load_config
    from lowlight.train.trainer import Trainer

    result = Trainer(load_config(sys.argv[1]), progress=False, command="ddp-test").fit()
    rank = int(os.environ["RANK"])
    torch.save(result.model.state_dict(), os.path.join(sys.argv[2], f"rank{{rank}}.pt"))
    """
)


@pytest.mark.slow
def test_two_gloo_processes_end_identical(tiny, tmp_path) -> None:  # noqa: ANN001
    data = tiny.recipe(
        tmp_path, train={"steps": 4, "ckpt_every": 2, "out_dir": str(tmp_path / "ddp")}
    )
    tiny.write_pairs(tmp_path / "val", 2, size=(20, 24))
    data["data"]["val"] = {"kind": "paired", "root": str(tmp_path / "val"), "num_workers": 0}
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump(data), encoding="utf-8")
    script = tmp_path / "run_ddp.py"
    script.write_text(SCRIPT.format(helper=str(HELPER)), encoding="utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
        "OMP_NUM_THREADS": "1",
    }
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            str(script),
            str(recipe),
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    rank0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    rank1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    for key in rank0:
        assert torch.equal(rank0[key], rank1[key]), key

    # Only rank 0 wrote the run folder; the checkpoint holds both ranks' RNG states.
    out = tmp_path / "ddp"
    assert (out / "last.ckpt").is_file() and (out / "export" / "tiny.safetensors").is_file()
    ckpt = torch.load(out / "last.ckpt", weights_only=True)
    assert ckpt["step"] == 4 and len(ckpt["rng"]) == 2 and ckpt["data"]["position"] == 4 * 2 * 2
    assert "2 process(es)" in (out / "export" / "tiny.json").read_text(encoding="utf-8")

    # Same samples as one process with the global batch: equal up to float rounding.
    single = dict(data)
    single["data"] = {**data["data"], "train": {**data["data"]["train"], "batch_size": 4}}
    single["train"] = {**data["train"], "out_dir": str(tmp_path / "single")}
    reference = Trainer(parse_config(single), progress=False).fit().model.state_dict()
    for key in rank0:
        torch.testing.assert_close(rank0[key], reference[key], rtol=1e-4, atol=1e-5)
