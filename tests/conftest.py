"""Shared fixtures of the Python read-back tests: a lake replayed once per
session and layout."""

import json
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "summaries"
UPLOADER = ROOT / "bin" / "summary-uploader"


LAYOUTS = ("score-pctid", "run-bucket")


def layout_of(lake):
    """The layout the lake's descriptor names."""
    return json.loads((lake / "_lake.json").read_text())["layout"]


@pytest.fixture(scope="session", params=LAYOUTS)
def lake(request, tmp_path_factory):
    """The bundled fixtures replayed into a fresh lake of each layout through
    the component."""
    if not UPLOADER.exists():
        pytest.fail(f"{UPLOADER} is missing: run scripts/setup first")
    out = tmp_path_factory.mktemp(request.param)
    result = subprocess.run(
        [str(UPLOADER), "replay", "--lake", str(out), "--layout", request.param, str(FIXTURES)],
        capture_output=True,
        text=True,
        env={**os.environ, "SUMMARY_COMPONENT": str(ROOT / "bin" / "summary_guest.wasm")},
    )
    assert result.returncode == 0, result.stderr
    assert "60 converted, 0 failed" in result.stdout, result.stdout
    assert layout_of(out) == request.param
    return out
