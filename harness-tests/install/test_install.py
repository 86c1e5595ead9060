"""`cmake --install` of the build tree into a fresh prefix, used as another project would:
the libraries (SONAME, only the public th_ API exported), the headers (C and C++), the
pkg-config file and CMake package (examples/consumer-c built both ways, shared and static,
its tests passing), the CLI and the example scenarios, and the Python package with its
pytest11 entry point, all from the prefix alone (run from /, nothing of the checkout on
any path). Needs ./scripts/build first; installs build/, builds nothing of the harness."""
import os
import pathlib
import re
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"
CONSUMER = ROOT / "examples" / "consumer-c"
VERSION = re.search(r"^project\(tcmu-harness VERSION (\d+)\.(\d+)\.(\d+)",
                    (ROOT / "CMakeLists.txt").read_text(), re.M).groups()
VERSION_STR = ".".join(VERSION)


def sh(*argv, check=True, **kw) -> subprocess.CompletedProcess:
    r = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=300,
                       **kw)
    assert r.returncode == 0 or not check, f"{argv}: exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r


def clean_env(**extra) -> dict:
    """An environment with nothing pointing into the checkout."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"),
           "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1"}
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def prefix(tmp_path_factory) -> pathlib.Path:
    p = tmp_path_factory.mktemp("install") / "prefix"
    sh("cmake", "--install", BUILD, "--prefix", p)
    return p


@pytest.fixture(scope="session")
def libdir(prefix) -> pathlib.Path:
    (pc,) = prefix.glob("**/pkgconfig/tcmu-harness.pc")
    return pc.parent.parent


def test_the_shared_library_has_its_soname_and_version_and_the_static_one_is_beside_it(libdir):
    major = VERSION[0]
    real = libdir / f"libtcmu-harness.so.{VERSION_STR}"
    assert real.is_file() and not real.is_symlink()
    assert os.readlink(libdir / f"libtcmu-harness.so.{major}") == real.name
    assert os.readlink(libdir / "libtcmu-harness.so") == f"libtcmu-harness.so.{major}"
    dyn = sh("readelf", "-d", real).stdout
    assert f"Library soname: [libtcmu-harness.so.{major}]" in dyn
    assert "libyaml" in dyn  # its dependencies are its own, not its users'
    assert (libdir / "libtcmu-harness.a").is_file()


def declared_functions(include: pathlib.Path) -> set:
    """The functions the public headers declare (not macros, not static inline)."""
    names, inline = set(), set()
    for h in include.glob("th/*.h"):
        text = re.sub(r"/\*.*?\*/", " ", h.read_text(), flags=re.S)
        text = re.sub(r"\\\n", " ", text)
        text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
        inline |= set(re.findall(r"static\s+inline\s+[\w\s\*]*?\b(th_\w+)\s*\(", text))
        names |= set(re.findall(r"\b(th_\w+)\s*\(", text))
    return names - inline


def test_the_shared_library_exports_exactly_the_public_headers_functions(prefix, libdir):
    out = sh("nm", "-D", "--defined-only", libdir / f"libtcmu-harness.so.{VERSION_STR}").stdout
    exported = {line.split()[-1] for line in out.splitlines() if line.strip()}
    assert {s for s in exported if not s.startswith("th_")} == set()
    expected = declared_functions(prefix / "include")
    assert {"th_disk_handle", "th_fake_cmd_new", "th_status_name"} <= expected
    assert exported == expected, (f"exported, not declared: {sorted(exported - expected)}; "
                                  f"declared, not exported: {sorted(expected - exported)}")
    # the internals the CLI and the unit tests use (linked statically) stay inside
    assert not {"th_ring_init", "th_cfs_write"} & exported


def test_the_static_library_defines_globally_exactly_the_public_headers_functions(prefix,
                                                                                  libdir):
    # its internals are made local (ld -r, objcopy --localize-hidden); none of the API with
    # them
    out = sh("nm", "-g", "--defined-only", libdir / "libtcmu-harness.a").stdout
    defined = {l.split()[2] for l in out.splitlines()
               if len(l.split()) == 3 and l.split()[1] in "TDBR"}
    assert defined == declared_functions(prefix / "include")


def test_the_public_headers_are_installed_and_work_from_cpp(prefix, libdir, tmp_path):
    src = {p.name for p in (ROOT / "framework" / "include" / "th").glob("*.h")}
    assert {p.name for p in (prefix / "include" / "th").glob("*.h")} == src
    for h in (prefix / "include" / "th").glob("*.h"):
        assert 'extern "C" {' in h.read_text(), h
    cpp = tmp_path / "use.cpp"
    cpp.write_text('#include <th/th.h>\n#include <th/ops.h>\n#include <cstdio>\n'
                   "int main() { th_disk_config c; th_disk_config_init(&c);\n"
                   '  std::printf("%s %u\\n", th_status_name(TH_STATUS_BUSY), c.block_size); }\n')
    exe = tmp_path / "use"
    sh("g++", "-Wall", "-Werror", f"-I{prefix / 'include'}", cpp, "-o", exe, f"-L{libdir}",
       "-ltcmu-harness", f"-Wl,-rpath,{libdir}")
    assert sh(exe, cwd="/", env=clean_env()).stdout == "BUSY 512\n"


def test_pkg_config_gives_the_version_and_what_static_linking_needs(libdir, prefix):
    env = clean_env(PKG_CONFIG_PATH=str(libdir / "pkgconfig"))
    assert sh("pkg-config", "--modversion", "tcmu-harness", env=env).stdout.strip() == \
        VERSION_STR
    cflags = sh("pkg-config", "--cflags", "tcmu-harness", env=env).stdout.split()
    assert [pathlib.Path(f[2:]).resolve() for f in cflags] == [(prefix / "include").resolve()]
    libs = sh("pkg-config", "--libs", "tcmu-harness", env=env).stdout.split()
    assert "-ltcmu-harness" in libs and "-lyaml" not in libs
    static = sh("pkg-config", "--static", "--libs", "tcmu-harness", env=env).stdout.split()
    assert {"-ltcmu-harness", "-lyaml", "-pthread"} <= set(static)


def test_consumer_c_builds_with_find_package_shared_and_static_and_passes(prefix, tmp_path):
    b = tmp_path / "b"
    env = clean_env()
    sh("cmake", "-S", CONSUMER, "-B", b, f"-DCMAKE_PREFIX_PATH={prefix}", cwd="/", env=env)
    sh("cmake", "--build", b, cwd="/", env=env)
    r = sh("ctest", "--test-dir", b, "--output-on-failure", cwd="/", env=env)
    assert "100% tests passed, 0 tests failed out of 2" in r.stdout
    assert "libtcmu-harness.so.0" in sh("readelf", "-d", b / "test-vendor").stdout
    assert "libtcmu-harness" not in sh("readelf", "-d", b / "test-vendor-static").stdout


def test_find_package_refuses_another_major_version(prefix, tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.18)\nproject(v LANGUAGES C)\n"
        f"find_package(tcmu-harness {int(VERSION[0]) + 1}.0 REQUIRED)\n")
    r = subprocess.run(["cmake", "-S", tmp_path / "src", "-B", tmp_path / "b",
                        f"-DCMAKE_PREFIX_PATH={prefix}"], capture_output=True, text=True,
                       timeout=120, env=clean_env())
    assert r.returncode != 0
    assert "Could not find a configuration file" in r.stderr
    assert f"tcmu-harness-config.cmake, version: {VERSION_STR}" in r.stderr


def test_consumer_c_builds_with_pkg_config_shared_and_static_and_passes(libdir, tmp_path):
    env = clean_env(PKG_CONFIG_PATH=str(libdir / "pkgconfig"))
    r = sh("make", "-C", CONSUMER, f"O={tmp_path}", "check", cwd="/", env=env)
    out = r.stdout + r.stderr  # Criterion reports on stderr
    assert out.count("Tested: 6 | Passing: 6 | Failing: 0") == 2, out
    assert "libtcmu-harness.so.0" in sh("readelf", "-d", tmp_path / "test-vendor").stdout
    assert "libtcmu-harness" not in sh("readelf", "-d", tmp_path / "test-vendor-static").stdout


def test_the_installed_cli_runs_and_validates_the_installed_scenarios_from_slash(prefix):
    th = prefix / "bin" / "tcmu-harness"
    r = sh(th, "--help", cwd="/", env=clean_env())
    assert "usage" in (r.stdout + r.stderr).lower()
    scenarios = sorted((prefix / "share" / "tcmu-harness" / "scenarios").glob("*.yaml"))
    assert {p.name for p in scenarios} == {p.name for p in (ROOT / "scenarios").glob("*.yaml")}
    r = sh(th, "validate", *scenarios, cwd="/", env=clean_env())
    assert r.stdout.count(": ok (") == len(scenarios)
    # the tools scenarios run are installed beside them, runnable
    sgio = prefix / "share" / "tcmu-harness" / "scenarios" / "tools" / "sgio.py"
    assert os.access(sgio, os.X_OK)
    assert "$TH_SCENARIO_DIR/tools/sgio.py" in (sgio.parent.parent /
                                                 "short-read-with-sense.yaml").read_text()


def test_the_installed_cli_runs_a_scenario_s_tools_relative_to_it(prefix, tmp_path):
    # what an installed scenario does (short-read-with-sense runs tools/sgio.py), without a
    # kernel: a scenario with no devices, copied nowhere near the checkout, run from /
    sdir = prefix / "share" / "tcmu-harness" / "scenarios"
    own = tmp_path / "s.yaml"
    own.write_text("name: tool\ndevices: []\nsteps:\n"
                   '  - run: test -x "$TH_SCENARIO_DIR/tools/sgio.py" && '
                   'head -1 "$TH_SCENARIO_DIR/tools/sgio.py"\n'
                   '    expect: { stdout: "^#!/usr/bin/python3$" }\n')
    (tmp_path / "tools").symlink_to(sdir / "tools")
    sh(prefix / "bin" / "tcmu-harness", "run", own, cwd="/", env=clean_env())


@pytest.fixture(scope="session")
def pydir(prefix) -> pathlib.Path:
    (init,) = prefix.glob("lib/**/tcmu_harness/__init__.py")
    return init.parent.parent


def test_the_python_package_imports_from_the_prefix_alone(pydir):
    r = sh("/usr/bin/python3", "-c",
           "import tcmu_harness, importlib.metadata as m; print(tcmu_harness.__file__); "
           "print(m.version('tcmu-harness'))", cwd="/", env=clean_env(PYTHONPATH=str(pydir)))
    path, version = r.stdout.split()
    assert pathlib.Path(path).is_relative_to(pydir)
    assert version == VERSION_STR


def test_pytest_loads_the_installed_plugin_through_its_entry_point(pydir, tmp_path):
    env = clean_env(PYTHONPATH=str(pydir))
    # no -p and no conftest here: only the pytest11 entry point can have loaded it
    r = sh("/usr/bin/python3", "-m", "pytest", "-p", "no:cacheprovider", "--trace-config",
           "--co", "-q", cwd=tmp_path, env=env, check=False)
    plugin = str(pydir / "tcmu_harness" / "plugin.py")
    assert f"PLUGIN registered: <module 'tcmu_harness.plugin' from '{plugin}'>" in r.stdout, \
        r.stdout + r.stderr
    r = sh("/usr/bin/python3", "-m", "pytest", "-p", "no:cacheprovider", "--help", cwd=tmp_path,
           env=env)
    assert "--tcmu-harness-bin" in r.stdout
    # and without the prefix on the path the plugin is not there (the check means something)
    r = sh("/usr/bin/python3", "-m", "pytest", "-p", "no:cacheprovider", "--help", cwd=tmp_path,
           env=clean_env())
    assert "--tcmu-harness-bin" not in r.stdout


def test_the_installed_python_package_finds_the_installed_cli_off_path(pydir, prefix):
    r = sh("/usr/bin/python3", "-c", "from tcmu_harness import find_binary; print(find_binary())",
           cwd="/", env=clean_env(PYTHONPATH=str(pydir)))
    assert pathlib.Path(r.stdout.strip()).resolve() == (prefix / "bin" / "tcmu-harness").resolve()


def files(root: pathlib.Path) -> set:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() or p.is_symlink()}


def test_the_components_split_the_install_for_packages(prefix, tmp_path):
    parts = {}
    for c in ("runtime", "dev", "tool", "python"):
        sh("cmake", "--install", BUILD, "--component", c, "--prefix", tmp_path / c)
        parts[c] = files(tmp_path / c)
    docs = set()
    # Each component carries the copyright file of the Debian package made from it.
    for c, pkg in (("runtime", "libtcmu-harness0"), ("dev", "libtcmu-harness-dev"),
                   ("tool", "tcmu-harness"), ("python", "python3-tcmu-harness")):
        doc = f"share/doc/{pkg}/copyright"
        assert doc in parts[c], (c, parts[c])
        parts[c] = {f for f in parts[c] if f != doc}
        docs.add(doc)
    major = VERSION[0]
    assert {pathlib.PurePath(f).name for f in parts["runtime"]} == {
        f"libtcmu-harness.so.{major}", f"libtcmu-harness.so.{VERSION_STR}"}
    assert all(f.startswith(("include/th/", "lib/")) for f in parts["dev"])
    assert {pathlib.PurePath(f).name for f in parts["dev"]} >= {
        "th.h", "criterion.h", "libtcmu-harness.a", "libtcmu-harness.so", "tcmu-harness.pc",
        "tcmu-harness-config.cmake", "tcmu-harness-config-version.cmake"}
    assert "bin/tcmu-harness" in parts["tool"]
    assert all(f == "bin/tcmu-harness" or f.startswith("share/tcmu-harness/scenarios/")
               or f in ("share/man/man1/tcmu-harness.1", "share/man/man5/tcmu-harness-scenario.5")
               for f in parts["tool"]), parts["tool"]
    assert {"share/man/man1/tcmu-harness.1", "share/man/man5/tcmu-harness-scenario.5"} <= set(
        parts["tool"])
    assert all("/tcmu_harness" in f for f in parts["python"]) and parts["python"]
    # together, exactly the whole install: nothing outside a component, nothing twice
    assert sum(len(p) for p in parts.values()) + len(docs) == len(files(prefix))
    assert set().union(docs, *parts.values()) == files(prefix)
