"""The Python package tcmu_harness and its pytest plugin, without a kernel: against
fake_serve.py, a stand-in for `tcmu-harness serve --control` that speaks the protocol."""
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PYDIR = ROOT / "python"
FAKE = pathlib.Path(__file__).resolve().parent / "fake_serve.py"
sys.path.insert(0, str(PYDIR))

pytest_plugins = ["pytester"]

FAKE_VARS = ("FAKE_EXIT_AT_START", "FAKE_START_DELAY", "FAKE_DIE_ON", "FAKE_HANG_ON",
             "FAKE_STUBBORN", "FAKE_BAD_ID_ON", "FAKE_GARBAGE_ON", "FAKE_KMSG", "FAKE_LOG",
             "FAKE_EXIT_STATUS")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for v in FAKE_VARS + ("TCMU_HARNESS_BIN", "TCMU_HARNESS_CONFIGFS"):
        monkeypatch.delenv(v, raising=False)


@pytest.fixture
def fake_configfs(tmp_path, monkeypatch):
    """A configfs that looks like TCMU is loaded (target/core, target/loopback)."""
    root = tmp_path / "configfs"
    (root / "target" / "core").mkdir(parents=True)
    (root / "target" / "loopback").mkdir()
    monkeypatch.setenv("TCMU_HARNESS_CONFIGFS", str(root))
    return root


@pytest.fixture
def no_tcmu(tmp_path, monkeypatch):
    """A configfs with no target core: this kernel has no TCMU, wherever the tests run."""
    root = tmp_path / "empty-configfs"
    root.mkdir()
    monkeypatch.setenv("TCMU_HARNESS_CONFIGFS", str(root))
    return root


@pytest.fixture
def request_log(tmp_path, monkeypatch):
    """The requests the fake server received, as a function returning them."""
    import json
    path = tmp_path / "requests.jsonl"
    monkeypatch.setenv("FAKE_LOG", str(path))

    def read():
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]
    return read


@pytest.fixture
def server(request_log):
    import tcmu_harness
    with tcmu_harness.Server(FAKE, start_timeout=20, stop_timeout=10) as s:
        yield s
