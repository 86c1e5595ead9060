"""The guest looks like an ordinary system to users' scripts (issue 12): /dev/fd and
process substitution, /dev/shm, the usual mounts, modules loaded on demand by the
kernel (ext4 on a served disk), and the kernel it runs named in the environment."""
import os
import platform

from conftest import run


def test_a_bash_script_with_process_substitution_works(tmp_path):
    script = tmp_path / "s.sh"
    script.write_text("diff <(printf 'a\\nb\\n') <(printf 'a\\nb\\n') && cat <(echo sub-ok)\n"
                      "readlink /dev/stdin /dev/stdout /dev/stderr\n")
    p = run("bash", script, check=True)
    assert p.stdout.splitlines() == ["sub-ok", "/proc/self/fd/0", "/proc/self/fd/1",
                                     "/proc/self/fd/2"]


def test_dev_shm_is_a_writable_tmpfs_and_the_usual_mounts_exist():
    mounts = {}
    for line in open("/proc/mounts"):
        dev, where, fstype = line.split()[:3]
        mounts[where] = fstype
    for where, fstype in {"/proc": "proc", "/sys": "sysfs", "/dev": "devtmpfs",
                          "/dev/pts": "devpts", "/dev/shm": "tmpfs", "/run": "tmpfs",
                          "/sys/kernel/config": "configfs"}.items():
        assert mounts.get(where) == fstype, (where, mounts.get(where))
    with open("/dev/shm/th-e2e-probe", "w") as f:
        f.write("x")
    os.unlink("/dev/shm/th-e2e-probe")
    assert os.path.isdir("/tmp") and os.access("/tmp", os.W_OK)


def test_ext4_on_a_served_disk_mounts_with_the_module_loaded_on_demand(disk, tmp_path):
    # Not inserted by the init: the kernel's request_module has to find it.
    assert run("mkfs.ext4", "-q", "-F", disk["sd"], check=True).returncode == 0
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    run("mount", "-t", "ext4", disk["sd"], mnt, check=True)
    try:
        (mnt / "f").write_text("on ext4\n")
        run("sync", check=True)
    finally:
        run("umount", mnt, check=True)
    assert "ext4" in open("/proc/filesystems").read()
    run("mount", "-t", "ext4", "-o", "ro", disk["sd"], mnt, check=True)
    try:
        assert (mnt / "f").read_text() == "on ext4\n"
    finally:
        run("umount", mnt, check=True)


def test_the_kernel_it_runs_is_named_in_the_environment():
    assert os.environ.get("TCMU_HARNESS_IN_VM") == "1", "run this suite through the VM"
    release = os.environ["TCMU_HARNESS_KERNEL_RELEASE"]
    assert release == platform.release()
    name, version = os.environ["TCMU_HARNESS_KERNEL_PACKAGE"].split(" ")
    assert name == f"linux-image-{release}"
    assert version[0].isdigit() and "-" in version, version
