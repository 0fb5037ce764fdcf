"""Shared fixtures of the Python read-back tests: a lake replayed once per session."""

import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "summaries"
UPLOADER = ROOT / "bin" / "summary-uploader"


@pytest.fixture(scope="session")
def lake(tmp_path_factory):
    """The bundled fixtures replayed into a fresh lake through the component."""
    if not UPLOADER.exists():
        pytest.fail(f"{UPLOADER} is missing: run scripts/setup first")
    out = tmp_path_factory.mktemp("lake")
    result = subprocess.run(
        [str(UPLOADER), "replay", "--lake", str(out), str(FIXTURES)],
        capture_output=True,
        text=True,
        env={**os.environ, "SUMMARY_COMPONENT": str(ROOT / "bin" / "summary_guest.wasm")},
    )
    assert result.returncode == 0, result.stderr
    assert "60 converted, 0 failed" in result.stdout, result.stdout
    return out
