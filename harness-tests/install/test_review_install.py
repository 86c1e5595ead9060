"""Reviewer reproducers (rev-build) against `cmake --install` of build/ (./scripts/build)."""
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"


@pytest.fixture(scope="module")
def prefix(tmp_path_factory) -> pathlib.Path:
    p = tmp_path_factory.mktemp("rev") / "prefix"
    subprocess.run(["cmake", "--install", str(BUILD), "--prefix", str(p)], check=True,
                   capture_output=True)
    return p


def test_the_static_library_defines_only_th_symbols(prefix):
    (a,) = prefix.glob("lib*/**/libtcmu-harness.a")
    out = subprocess.run(["nm", "-g", "--defined-only", str(a)], capture_output=True,
                         text=True, check=True).stdout
    leaked = sorted({l.split()[2] for l in out.splitlines()
                     if len(l.split()) == 3 and not l.split()[2].startswith("th_")})
    assert leaked == [], f"{len(leaked)} unprefixed globals, e.g. {leaked[:8]}"


def test_a_static_consumer_with_its_own_tape_truncate_links(prefix, tmp_path):
    # tape.c.o holds th_tape_set_write_protect and the internal tape_truncate: a tape
    # handler's project with its own tape_truncate gets "multiple definition"
    (a,) = prefix.glob("lib*/**/libtcmu-harness.a")
    src = tmp_path / "clash.c"
    src.write_text("#include <stddef.h>\n#include <th/tape.h>\n"
                   "void tape_truncate(void *t, size_t at) { (void)t; (void)at; }\n"
                   "int main(void) { th_tape_set_write_protect(NULL, false); return 0; }\n")
    r = subprocess.run(["gcc", f"-I{prefix / 'include'}", str(src), str(a), "-lyaml",
                        "-pthread", "-o", str(tmp_path / "clash")], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr


def test_install_with_prefix_usr_puts_python_on_the_system_python_path(tmp_path):
    # README: "cmake --install b --prefix P, every installed path is relative to the
    # prefix"; but TH_PYTHON_DIR is chosen at configure time (for /usr/local:
    # lib/python3.N/dist-packages), so --prefix /usr installs into
    # /usr/lib/python3.N/dist-packages, which Debian's python3 never searches
    root = tmp_path / "root"
    subprocess.run(["cmake", "--install", str(BUILD), "--prefix", "/usr", "--component",
                    "python"], check=True, capture_output=True, env={"DESTDIR": str(root),
                    "PATH": "/usr/bin:/bin"})
    (init,) = root.glob("usr/lib/**/tcmu_harness/__init__.py")
    where = "/" + str(init.parent.parent.relative_to(root))
    path = subprocess.run(["/usr/bin/python3", "-c", "import sys; print('\\n'.join(sys.path))"],
                          capture_output=True, text=True, check=True).stdout.split()
    assert where in path, f"{where} not in {path}"
