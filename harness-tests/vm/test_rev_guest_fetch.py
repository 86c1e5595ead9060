"""Reviewer reproducers for `kernel fetch` (offline: a fake apt-get serves a tiny .deb)."""
import os
import pathlib
import subprocess
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
TH = str(ROOT / "build" / "tcmu-harness")
PKG = "linux-image-9.9.9-rev-amd64"
REL = "9.9.9-rev-amd64"


def fake_apt(tmp_path):
    """A PATH dir with an apt-get whose `download PKG` drops a real tiny kernel-shaped .deb
    into the current directory, after $FAKE_APT_SLEEP seconds."""
    src = tmp_path / "debsrc"
    (src / "DEBIAN").mkdir(parents=True)
    (src / "DEBIAN" / "control").write_text(
        f"Package: {PKG}\nVersion: 9.9.9-1\nArchitecture: amd64\n"
        "Maintainer: r <r@example.org>\nDescription: fake\n")
    (src / "boot").mkdir()
    (src / "boot" / f"vmlinuz-{REL}").write_bytes(b"not really a kernel")
    (src / "lib" / "modules" / REL / "kernel").mkdir(parents=True)
    deb = tmp_path / "fake.deb"
    subprocess.run(["dpkg-deb", "-b", "--root-owner-group", str(src), str(deb)], check=True,
                   capture_output=True)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    apt = bindir / "apt-get"
    apt.write_text("#!/bin/sh\n"
                   "[ \"$1\" = download ] || exit 1\n"
                   "sleep \"${FAKE_APT_SLEEP:-0}\"\n"
                   f"cp '{deb}' \"./{PKG}_9.9.9-1_amd64.deb\"\n")
    apt.chmod(0o755)
    return bindir


def run(args, cache, bindir, extra=None, cwd=None):
    env = dict(os.environ)
    env.pop("TCMU_HARNESS_KERNEL_VERSION", None)
    env.update({"TCMU_HARNESS_CACHE": str(cache), "PATH": f"{bindir}:{env['PATH']}"})
    env.update(extra or {})
    return subprocess.Popen([TH, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=cwd)


def test_fetch_into_a_cache_path_with_a_quote_neither_fails_nor_runs_it(tmp_path):
    """fetch() builds `dpkg-deb -f '<deb>' ... > '<cache>/.package'` for system(): a
    cache path (TCMU_HARNESS_CACHE, $HOME, XDG_CACHE_HOME) holding a single quote breaks
    out of the quoting: the fetch fails, and the path's text runs as shell commands."""
    bindir = fake_apt(tmp_path)
    cache = tmp_path / "o'c';touch PWNED;'"
    p = run(["kernel", "fetch", PKG], cache, bindir, cwd=tmp_path)
    out, err = p.communicate(timeout=60)
    assert not (tmp_path / "PWNED").exists(), "the cache path ran as a shell command"
    assert p.returncode == 0, err


def test_fetch_records_the_package_as_name_space_version(tmp_path):
    """.package becomes TCMU_HARNESS_KERNEL_PACKAGE ("NAME DEBIAN-VERSION"), but
    `dpkg-deb -f DEB Package Version` prints "Package: N" and "Version: V" lines, so a
    fresh fetch records "Package: N Version: V" (only caches repaired by read_package's
    apt-cache path, like the one the e2e lane used, have the documented form)."""
    bindir = fake_apt(tmp_path)
    cache = tmp_path / "cache"
    p = run(["kernel", "fetch", PKG], cache, bindir)
    err = p.communicate(timeout=60)[1]
    assert p.returncode == 0, err
    assert (cache / "kernels" / PKG / ".package").read_text() == f"{PKG} 9.9.9-1"


def test_two_concurrent_fetches_of_one_kernel_both_succeed(tmp_path):
    """Both fetches use the same <dir>~partial: the second `rm -rf`s the first's download
    folder under it, and the first's failure path `rm -rf`s the second's."""
    bindir = fake_apt(tmp_path)
    cache = tmp_path / "cache"
    a = run(["kernel", "fetch", PKG], cache, bindir, {"FAKE_APT_SLEEP": "2"})
    time.sleep(0.7)
    b = run(["kernel", "fetch", PKG], cache, bindir, {"FAKE_APT_SLEEP": "2"})
    ea = a.communicate(timeout=60)[1]
    eb = b.communicate(timeout=60)[1]
    assert (a.returncode, b.returncode) == (0, 0), f"A: {ea}\nB: {eb}"
    assert (cache / "kernels" / PKG / ".complete").exists()


def test_kernel_list_does_not_run_a_cache_entry_name_as_shell(tmp_path):
    """read_package() builds `apt-cache show '<dir name>' ... > '<dir>/.package'` for
    system() for every complete cached kernel lacking .package, from the raw directory
    entry: `kernel list` (or path/vm picking it) runs a quote-bearing name as commands."""
    name = "linux-image-1';touch PWNED;'"
    k = tmp_path / "cache" / "kernels" / name
    (k / "boot").mkdir(parents=True)
    (k / "boot" / "vmlinuz-1").write_bytes(b"x")
    (k / "lib" / "modules" / "1").mkdir(parents=True)
    (k / ".complete").write_text("")
    p = run(["kernel", "list"], tmp_path / "cache", "/nonexistent", cwd=tmp_path)
    p.communicate(timeout=60)
    assert not (tmp_path / "PWNED").exists(), "a cache entry's name ran as a shell command"


def test_kernel_list_marks_the_kernel_vm_would_use_without_package_lists(tmp_path):
    """Without package lists (offline; apt-cache knows nothing), vm/path use the newest
    cached kernel, but `kernel list` ("the default marked with '*'") marks none."""
    bindir = fake_apt(tmp_path)
    cache = tmp_path / "cache"
    p = run(["kernel", "fetch", PKG], cache, bindir)
    assert p.communicate(timeout=60) and p.returncode == 0
    (bindir / "apt-cache").write_text("#!/bin/sh\nexit 100\n")
    (bindir / "apt-cache").chmod(0o755)
    p = run(["kernel", "path"], cache, bindir)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0 and f"/{PKG}/" in out, err
    p = run(["kernel", "list"], cache, bindir)
    out = p.communicate(timeout=60)[0]
    assert out.splitlines() == [f"* {PKG}"]


def test_pvh_extraction_in_a_cache_path_with_a_quote_neither_fails_nor_runs_it(tmp_path):
    """extract_pvh() ran `tail ... '<image>' | xz ... > '<out>'` through the shell: a quote
    in the cache path broke it (no .pvh, a slower bzImage boot) and ran the path as commands.
    Uses the cached Debian kernel (PVH-capable, XZ payload)."""
    import shutil
    env = dict(os.environ)
    env.pop("TCMU_HARNESS_KERNEL_VERSION", None)
    image = subprocess.run([TH, "kernel", "path"], capture_output=True, text=True, env=env,
                           check=True).stdout.split()[0]
    src = pathlib.Path(image).parents[1]
    cache = tmp_path / "o'c';touch PWNED;'"
    dst = cache / "kernels" / src.name
    shutil.copytree(src, dst, symlinks=True)
    for pvh in (dst / "boot").glob("*.pvh"):
        pvh.unlink()
    env["TCMU_HARNESS_CACHE"] = str(cache)
    p = subprocess.run([TH, "kernel", "path"], capture_output=True, text=True, env=env,
                       cwd=tmp_path)
    assert not (tmp_path / "PWNED").exists(), "the cache path ran as a shell command"
    assert p.returncode == 0 and p.stdout.splitlines()[0].endswith(".pvh"), p.stdout + p.stderr
