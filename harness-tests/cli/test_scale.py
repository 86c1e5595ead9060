"""No toy limits on the command line: exec takes any number of --cdb, serve any number of
--device, validate scenarios of hundreds of devices; a limit that remains says whose."""
import json
import re
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
TH = str(ROOT / "build" / "tcmu-harness")


def th(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([TH, *map(str, args)], capture_output=True, text=True, timeout=120)


def read10(lba: int) -> str:
    return f"28 00 {lba >> 24 & 255:02x} {lba >> 16 & 255:02x} {lba >> 8 & 255:02x} " \
           f"{lba & 255:02x} 00 00 01 00"


def test_exec_runs_a_hundred_commands_in_order(tmp_path: pathlib.Path) -> None:
    f = tmp_path / "s.yaml"
    f.write_text("""name: many
devices:
  - { name: d0, size: 1MiB }
rules:
  - device: d0
    match: { op: READ_10, lba: 77 }
    respond: { sense: { key: MEDIUM_ERROR, asc: 0x11, info: lba } }
""")
    args: list[object] = ["exec", f, "--device", "d0"]
    for i in range(100):
        args += ["--cdb", read10(i) if i % 2 else "00 00 00 00 00 00"]
        if i == 99:
            args += ["--cdb", read10(77)]  # the 101st: the old cap answered it with usage
    p = th(*args)
    assert p.returncode == 0, p.stderr
    out = [json.loads(line) for line in p.stdout.splitlines()]
    assert len(out) == 101
    for i, r in enumerate(out[:100]):
        assert r["status"] == (2 if i == 77 else 0), (i, r)
        assert r["cdb"].startswith("28" if i % 2 else "00"), (i, r)
    assert out[77]["sense"]["key"] == "MEDIUM_ERROR" and out[77]["sense"]["info"] == 77
    assert out[100]["status"] == 2 and out[100]["sense"]["info"] == 77


def specs(n: int) -> list[str]:
    args = []
    for i in range(n):
        args += ["--device", f"name=d{i},size=1MiB,target=naa.5001405000000c01,lun={i * 100}"]
    return args


def test_serve_parses_a_hundred_devices_up_to_the_kernel_step() -> None:
    # all 100 are taken (no usage error): what stops serve here is the missing kernel, or
    # (with one) the device whose build failed first (they are built at once)
    p = th("serve", *specs(100))
    assert p.returncode == 1, p.stderr
    assert re.search(r"serve: device d[0-9]+: ", p.stderr), p.stderr
    assert "at most" not in p.stderr
    # the checks across them see every one: the 101st repeats the 57th's name
    p = th("serve", *specs(100), "--device", "name=d56")
    assert p.returncode == 2
    assert "--device 'name=d56': device name 'd56' is used twice" in p.stderr, p.stderr


def test_a_lun_past_sams_flat_space_says_why() -> None:
    p = th("serve", *specs(3), "--device", "name=big,lun=16384")
    assert p.returncode == 2
    assert "lun: 16384 is out of range (0 to 16383)" in p.stderr, p.stderr
    assert "flat space addressing" in p.stderr, p.stderr


def test_validate_takes_300_devices_with_their_rules(tmp_path: pathlib.Path) -> None:
    lines = ["name: big", "devices:"]
    lines += [f"  - {{name: d{i}, size: 1MiB, lun: {i}, target: naa.5001405000000c02}}"
              for i in range(300)]
    lines += ["rules:"]
    lines += [f"  - {{device: d{i % 300}, name: r{i}, match: {{lba: {i}}}}}" for i in range(3000)]
    lines += ["steps:"]
    lines += [f"  - {{remove_rule: {{device: d{i % 300}, name: r{i}}}}}" for i in range(300)]
    f = tmp_path / "big.yaml"
    f.write_text("\n".join(lines) + "\n")
    p = th("validate", f)
    assert p.returncode == 0, p.stderr
    # and an error deep in it is located
    f.write_text("\n".join(lines) + "\n  - {remove_rule: {device: d299, name: r9999}}\n")
    p = th("validate", f)
    assert p.returncode == 2
    assert f":{len(lines) + 1}:5: device 'd299' has no rule named 'r9999'" in p.stderr, p.stderr
