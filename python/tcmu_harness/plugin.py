"""The pytest plugin (entry point pytest11 `tcmu_harness`, or `-p tcmu_harness.plugin`).

Fixtures: tcmu_harness (one Server for the session), tcmu_disk(**spec) and
tcmu_tape(**spec) (factories; their devices are removed after each test, passed or
failed). Every test that uses them gets a kernel-log check: a splat (the server's
default verdict) fails it, unless allowed by --tcmu-allow-kmsg REGEX, the ini option
tcmu_allow_kmsg or @pytest.mark.tcmu_allow_kmsg(REGEX, ...). Where the kernel has no
TCMU such tests fail (never skip) with how to run them: `tcmu-harness vm -- pytest ...`.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator, List, Mapping, Optional

import pytest

from .client import TcmuHarnessError
from .device import Device
from .kernel import has_tcmu, no_tcmu_message
from .server import Server, find_binary

FIXTURES = ("tcmu_harness", "tcmu_disk", "tcmu_tape", "tcmu_kmsg")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tcmu-harness", "virtual SCSI devices (tcmu-harness)")
    group.addoption("--tcmu-harness-bin", metavar="PATH", default=None,
                    help="the tcmu-harness executable (default: $TCMU_HARNESS_BIN, then "
                         "tcmu-harness on PATH, then the installed prefix's bin/, then the "
                         "checkout's build/tcmu-harness)")
    group.addoption("--tcmu-allow-kmsg", metavar="REGEX", action="append", default=[],
                    help="a kernel log line matching this extended regex does not fail a "
                         "test (repeatable)")
    group.addoption("--tcmu-allow-kmsg-file", metavar="FILE", action="append", default=[],
                    help="a baseline of allowed kernel log lines, one extended regex a line "
                         "(blank lines and # comments ignored), as `run --allow-kmsg FILE`")
    group.addoption("--tcmu-trace", metavar="FILE", default=None,
                    help="serve writes the trace of the whole session here (JSON lines)")
    parser.addini("tcmu_allow_kmsg", type="linelist", default=[],
                  help="kernel log lines (extended regexes) that do not fail a test")
    parser.addini("tcmu_harness_bin", default="", help="the tcmu-harness executable")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "tcmu_allow_kmsg(*regexes): kernel log lines that "
                            "do not fail this test")
    _allowed(config)  # a missing baseline file is a usage error before any test


def _binary(config: pytest.Config) -> Optional[str]:
    return config.getoption("tcmu_harness_bin") or config.getini("tcmu_harness_bin") or None


def _how_to_run(config: pytest.Config) -> str:
    try:
        binary: Optional[str] = find_binary(_binary(config))
    except TcmuHarnessError:
        binary = None
    return no_tcmu_message(binary, list(config.invocation_params.args))


def _uses_devices(item: pytest.Item) -> bool:
    return any(f in FIXTURES for f in getattr(item, "fixturenames", ()))


@pytest.hookimpl(trylast=True)  # type: ignore[misc]
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: List[pytest.Item]) -> None:
    # Once, before any test runs: a suite of 200 device tests gets one clear message,
    # not 200 errors. A failure, never a skip: the suite did not run.
    if config.option.collectonly or has_tcmu():
        return
    if any(_uses_devices(i) for i in items):
        pytest.exit(_how_to_run(config), returncode=pytest.ExitCode.USAGE_ERROR)


def _allowed(config: pytest.Config) -> List[str]:
    allow = list(config.getoption("tcmu_allow_kmsg")) + list(config.getini("tcmu_allow_kmsg"))
    for path in config.getoption("tcmu_allow_kmsg_file"):
        try:
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except OSError as e:
            raise pytest.UsageError(f"--tcmu-allow-kmsg-file {path}: {e.strerror or e}")
        allow += [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    return allow


def _marker_regexes(mark: pytest.Mark) -> List[str]:
    # Strings, or lists of them: str(["a", "b"]) would be the regex ['a', 'b'], a bracket
    # expression that matches every line with a space in it (every splat allowed).
    regexes: List[str] = []
    for arg in mark.args:
        items = list(arg) if isinstance(arg, (list, tuple)) else [arg]
        if mark.kwargs or not all(isinstance(i, str) for i in items):
            pytest.fail(f"tcmu_allow_kmsg takes regexes (strings, or lists of them) as "
                        f"arguments, not {mark.args!r} {mark.kwargs!r}", pytrace=False)
        regexes += items
    if mark.kwargs:
        pytest.fail(f"tcmu_allow_kmsg takes regexes (strings, or lists of them) as "
                    f"arguments, not keywords {mark.kwargs!r}", pytrace=False)
    return regexes


@pytest.fixture(scope="session")
def tcmu_harness(pytestconfig: pytest.Config) -> Iterator[Server]:
    """One `tcmu-harness serve --control` for the session, with no devices of its own."""
    if not has_tcmu():
        pytest.fail(_how_to_run(pytestconfig), pytrace=False)
    server = Server(_binary(pytestconfig), trace=pytestconfig.getoption("tcmu_trace"))
    try:
        server.start()
    except TcmuHarnessError as e:
        pytest.fail(f"tcmu-harness serve did not start: {e}", pytrace=False)
    try:
        yield server
    finally:
        rc = server.stop()
        if rc != 0:
            pytest.fail(f"tcmu-harness serve exited with status {rc}; its stderr:\n"
                        f"{server.stderr}", pytrace=False)


@pytest.fixture
def tcmu_kmsg(request: pytest.FixtureRequest, tcmu_harness: Server) -> Iterator[Any]:
    """Checks the kernel log of this test (after its devices were removed); yields the
    mark. The tcmu fixtures take it, so every test with devices is checked."""
    allow = _allowed(request.config)
    for m in request.node.iter_markers("tcmu_allow_kmsg"):
        allow += _marker_regexes(m)
    mark = tcmu_harness.kmsg_mark()
    yield mark
    verdict = tcmu_harness.kmsg_check(mark, allow=allow)
    failures = verdict.get("failures") or []
    if verdict.get("passed") is False and not failures:
        failures = ["the server's verdict: failed (no line quoted)"]
    if failures:
        log = "\n".join(str(line) for line in verdict.get("log") or [])
        pytest.fail("kernel log of this test:\n  " + "\n  ".join(str(f) for f in failures)
                    + ("\nthe log since the test began:\n" + log if log else "")
                    + "\n(allow a line with --tcmu-allow-kmsg REGEX or "
                      "@pytest.mark.tcmu_allow_kmsg(REGEX))", pytrace=False)


@pytest.fixture(autouse=True)
def _tcmu_kmsg_for_server_users(request: pytest.FixtureRequest) -> None:
    # A test that adds devices through tcmu_harness itself is checked as well; set up
    # first, so its check runs after every other fixture of the test is torn down.
    if "tcmu_harness" in request.fixturenames:
        request.getfixturevalue("tcmu_kmsg")


class _Factory:
    def __init__(self, server: Server, add: Callable[..., Device]) -> None:
        self.server = server
        self._add = add
        self.devices: List[Device] = []

    def __call__(self, device: Optional[Mapping[str, Any]] = None, *, spec: Optional[str] = None,
                 **keys: Any) -> Device:
        dev = self._add(device, spec=spec, **keys)
        self.devices.append(dev)
        return dev

    def cleanup(self) -> None:
        errors = []
        for dev in reversed(self.devices):
            if dev.removed:
                continue
            try:
                dev.remove()
            except TcmuHarnessError as e:
                errors.append(f"removing {dev.name}: {e}")
        self.devices.clear()
        if errors:
            pytest.fail("\n".join(errors), pytrace=False)


@pytest.fixture
def tcmu_disk(tcmu_kmsg: Any, tcmu_harness: Server) -> Iterator[Callable[..., Device]]:
    """tcmu_disk(size="8MiB", block_size=4096, ...) -> Device: a disk for this test
    (YAML device keys as keywords, or spec="name=...,..."); removed after the test."""
    factory = _Factory(tcmu_harness, tcmu_harness.add_disk)
    try:
        yield factory
    finally:
        factory.cleanup()


@pytest.fixture
def tcmu_tape(tcmu_kmsg: Any, tcmu_harness: Server) -> Iterator[Callable[..., Device]]:
    """tcmu_tape(size="16MiB", media=[...], ...) -> Device: a tape drive for this test;
    removed after the test."""
    factory = _Factory(tcmu_harness, tcmu_harness.add_tape)
    try:
        yield factory
    finally:
        factory.cleanup()
