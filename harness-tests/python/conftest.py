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
    for v in FAKE_VARS + ("TCMU_HARNESS_BIN", "TCMU_HARNESS_SYSFS"):
        monkeypatch.delenv(v, raising=False)


@pytest.fixture
def fake_configfs(tmp_path, monkeypatch):
    """A /sys that looks like TCMU is there (configfs target/core, the two modules)."""
    root = tmp_path / "sys"
    (root / "kernel" / "config" / "target" / "core").mkdir(parents=True)
    for mod in ("target_core_user", "tcm_loop"):
        (root / "module" / mod).mkdir(parents=True)
    monkeypatch.setenv("TCMU_HARNESS_SYSFS", str(root))
    return root


@pytest.fixture(params=["no-configfs", "no-tcm_loop"])
def no_tcmu(tmp_path, monkeypatch, request):
    """A /sys without TCMU, wherever the tests run: no target core, or no tcm_loop."""
    root = tmp_path / "sys"
    (root / "module" / "target_core_user").mkdir(parents=True)
    if request.param == "no-tcm_loop":
        (root / "kernel" / "config" / "target" / "core").mkdir(parents=True)
    monkeypatch.setenv("TCMU_HARNESS_SYSFS", str(root))
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
