"""The Debian packages in build-deb/ (scripts/build-debs), read with dpkg-deb only: what a
distribution packager and lintian would check. Run by scripts/test-debs before it installs them."""
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
INCLUDE = ROOT / "framework" / "include"
DEBS = ROOT / "build-deb"


def debs() -> dict:
    found = {p.name.split("_")[0]: p for p in DEBS.glob("*.deb")}
    assert found, "run ./scripts/build-debs first"
    return found


@pytest.mark.parametrize("header", sorted(p.name for p in (INCLUDE / "th").glob("*.h")))
def test_every_public_header_compiles_alone_from_c(header, tmp_path):
    # fake_kernel.h uses bool without <stdbool.h>: a C user including it first fails
    src = tmp_path / "one.c"
    src.write_text(f"#include <th/{header}>\nint main(void) {{ return 0; }}\n")
    r = subprocess.run(["gcc", "-std=c11", "-Wall", "-fsyntax-only", f"-I{INCLUDE}", str(src)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_the_distribution_build_has_no_werror():
    # scripts/build-debs says "no -Werror" and passes -DTH_WERROR=OFF, but no such option
    # exists: -Werror is unconditional, so a newer distribution compiler fails the build
    flags = (DEBS / "CMakeFiles" / "th-objects.dir" / "flags.make").read_text()
    c_flags = [line for line in flags.splitlines() if line.startswith("C_FLAGS")][0].split()
    assert "-Werror" not in c_flags


@pytest.mark.parametrize("pkg", ["libtcmu-harness0", "libtcmu-harness-dev", "tcmu-harness",
                                 "python3-tcmu-harness"])
def test_every_package_has_its_copyright_file(pkg):
    listing = subprocess.run(["dpkg-deb", "-c", str(debs()[pkg])], capture_output=True,
                             text=True, check=True).stdout
    assert f"./usr/share/doc/{pkg}/copyright" in listing


def test_the_library_package_has_a_shlibs_file():
    # without it dpkg-shlibdeps of any package linking libtcmu-harness.so.0 finds no
    # dependency information (lintian: no-shlibs)
    r = subprocess.run(["dpkg-deb", "-I", str(debs()["libtcmu-harness0"]), "shlibs"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "libtcmu-harness 0 libtcmu-harness0" in r.stdout, r.stderr


def test_the_tool_depends_on_python3_its_installed_scenarios_run():
    # short-read-with-sense.yaml runs `python3 "$TH_SCENARIO_DIR/tools/sgio.py"` (and
    # sgio.py is #!/usr/bin/python3), yet python3 is only a Recommends of tcmu-harness
    assert 'python3 "$TH_SCENARIO_DIR/tools/sgio.py"' in \
        (ROOT / "scenarios" / "short-read-with-sense.yaml").read_text()
    depends = subprocess.run(["dpkg-deb", "-f", str(debs()["tcmu-harness"]), "Depends"],
                             capture_output=True, text=True, check=True).stdout
    assert "python3" in [d.strip().split()[0] for d in depends.split(",")]


def test_the_tool_does_not_depend_on_what_it_never_runs():
    # the VM runner writes its initramfs itself (framework/vm/cpio.c); no cpio is executed
    srcs = " ".join(p.read_text() for p in (ROOT / "framework").rglob("*.c"))
    assert '"cpio"' not in srcs
    depends = subprocess.run(["dpkg-deb", "-f", str(debs()["tcmu-harness"]), "Depends"],
                             capture_output=True, text=True, check=True).stdout
    assert "cpio" not in [d.strip().split()[0] for d in depends.split(",")]


def test_the_tool_package_has_the_man_pages_the_readme_promises():
    # README: "tcmu-harness | the CLI, man pages, ..."; scripts/test-debs-check only looks for
    # them if build-deb/man/*.1 exists, so their absence passes unnoticed
    listing = subprocess.run(["dpkg-deb", "-c", str(debs()["tcmu-harness"])],
                             capture_output=True, text=True, check=True).stdout
    assert "./usr/share/man/man1/tcmu-harness.1.gz" in listing


def test_the_cli_answers_version_as_test_debs_check_needs(tmp_path):
    # scripts/test-debs-check starts with `tcmu-harness --version | grep -q VERSION`: with
    # no --version the CI lane fails at its first check after apt install
    subprocess.run(["dpkg-deb", "-x", str(debs()["tcmu-harness"]), str(tmp_path)], check=True)
    r = subprocess.run([str(tmp_path / "usr" / "bin" / "tcmu-harness"), "--version"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "0.2.0" in r.stdout, r.stdout + r.stderr


def test_pkg_config_at_usr_names_no_system_directories(tmp_path):
    # prefix=${pcfiledir}/../../.. is not normalised: installed in /usr it gives
    # -I/usr/lib/x86_64-linux-gnu/pkgconfig/../../../include and -L.../lib/x86_64-linux-gnu,
    # which pkg-config does not recognise as the system dirs it drops (yaml-0.1 gives none)
    subprocess.run(["dpkg-deb", "-x", str(debs()["libtcmu-harness-dev"]), str(tmp_path)],
                   check=True)
    (pc,) = tmp_path.glob("usr/lib/*/pkgconfig/tcmu-harness.pc")
    at_usr = f"--define-variable=pcfiledir=/{pc.parent.relative_to(tmp_path)}"
    out = subprocess.run(["pkg-config", at_usr, "--cflags", "--libs", str(pc)],
                         capture_output=True, text=True, check=True).stdout.split()
    assert out == ["-ltcmu-harness"], out


def test_the_arch_all_python_package_survives_a_binnmu_of_the_tool():
    # python3-tcmu-harness (Architecture: all) Depends: tcmu-harness (= 0.2.0-1): a binNMU
    # of the arch-dependent tool (0.2.0-1+b1) makes it uninstallable (lintian:
    # not-binnmuable-all-depends-any)
    depends = subprocess.run(["dpkg-deb", "-f", str(debs()["python3-tcmu-harness"]),
                              "Depends"], capture_output=True, text=True, check=True).stdout
    tool = [d.strip() for d in depends.split(",") if d.strip().startswith("tcmu-harness")][0]
    assert "(=" not in tool, tool
