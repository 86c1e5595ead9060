"""serve --device input the parser must refuse before any kernel work (the review of the
one device description): a name given twice, a loopback target without naa."""
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
TH = str(ROOT / "build" / "tcmu-harness")


def serve(*specs: str) -> subprocess.CompletedProcess:
    args = [a for s in specs for a in ("--device", s)]
    return subprocess.run([TH, "serve", *args], capture_output=True, text=True, timeout=60)


def test_serve_refuses_a_device_name_given_twice_before_any_kernel_work() -> None:
    p = serve("name=a", "name=b", "name=a,size=1MiB")
    assert p.returncode == 2, p.stderr
    assert p.stderr == ("tcmu-harness serve: --device 'name=a,size=1MiB': "
                        "device name 'a' is used twice\n")


def test_serve_refuses_a_target_without_naa_before_any_kernel_work() -> None:
    p = serve("name=a,target=5001405000000001")
    assert p.returncode == 2, p.stderr
    assert p.stderr == ("tcmu-harness serve: --device 'name=a,target=5001405000000001': "
                        "target: '5001405000000001' is not naa. and 16 hex digits, not all zero\n")
