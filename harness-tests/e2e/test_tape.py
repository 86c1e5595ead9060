"""The tape emulation through the Linux st driver: mt-st, dd, tar and errno semantics."""
import errno
import hashlib
import os
import pathlib

import pytest

from conftest import ROOT, run

FIXTURE = ROOT / "fixtures" / "tapes" / "three-files.thtape"


@pytest.fixture
def tape(tcmu_tape):
    return tcmu_tape(name="tape0", size="32MiB")


def mt(dev, *args, check=True):
    return run("mt", "-f", dev, *args, check=check)


def write_file(dev, data, bs):
    fd = os.open(dev, os.O_WRONLY)
    try:
        for off in range(0, len(data), bs):
            assert os.write(fd, data[off:off + bs]) == len(data[off:off + bs])
    finally:
        os.close(fd)  # st writes a filemark on close after writing


def read_records(dev, bufsize):
    """Reads one file: the records until the filemark."""
    out = []
    fd = os.open(dev, os.O_RDONLY)
    try:
        while True:
            r = os.read(fd, bufsize)
            if not r:
                break
            out.append(r)
    finally:
        os.close(fd)
    return out


def test_mt_status_shows_an_online_drive_with_its_density(tape):
    p = mt(tape["nst"], "status")
    assert "ONLINE" in p.stdout
    assert "Density code 0x46" in p.stdout
    assert tape["st"].startswith("/dev/st") and tape["sd"] is None


def test_three_files_written_with_dd_read_back_after_fsf(tape, tmp_path):
    files = [os.urandom(n) for n in (10000, 70000, 300)]
    for i, data in enumerate(files):
        (tmp_path / f"f{i}").write_bytes(data)
        run("dd", f"if={tmp_path / f'f{i}'}", f"of={tape['nst']}", f"bs={len(data)}", check=True)
    mt(tape["nst"], "weof")
    mt(tape["nst"], "rewind")
    mt(tape["nst"], "fsf", "2")
    assert read_records(tape["nst"], 65536) == [files[2]]
    mt(tape["nst"], "rewind")
    assert read_records(tape["nst"], 131072) == [files[0]]
    assert read_records(tape["nst"], 131072) == [files[1]]


def test_bsf_eod_tell_and_seek(tape):
    for n in (1000, 2000):
        write_file(tape["nst"], os.urandom(n), n)
    mt(tape["nst"], "eod")
    assert "At block 4." in mt(tape["nst"], "tell").stdout
    mt(tape["nst"], "bsf", "1")
    assert "At block 3." in mt(tape["nst"], "tell").stdout
    mt(tape["nst"], "seek", "2")
    assert "At block 2." in mt(tape["nst"], "tell").stdout
    assert len(read_records(tape["nst"], 8192)[0]) == 2000


def test_setblk_4096_then_fixed_block_writes_and_reads(tape):
    mt(tape["nst"], "setblk", "4096")
    assert "Tape block size 4096 bytes" in mt(tape["nst"], "status").stdout
    data = os.urandom(4096 * 8)
    write_file(tape["nst"], data, 4096 * 4)
    mt(tape["nst"], "rewind")
    assert b"".join(read_records(tape["nst"], 4096 * 2)) == data


def test_a_larger_read_buffer_returns_exactly_the_record(tape):
    rec = os.urandom(1000)
    write_file(tape["nst"], rec, 1000)
    mt(tape["nst"], "rewind")
    fd = os.open(tape["nst"], os.O_RDONLY)
    try:
        assert os.read(fd, 65536) == rec  # ILI with the residue: st returns 1000
    finally:
        os.close(fd)


def test_reading_past_the_last_filemark_gives_0_then_eio_at_eod(tape):
    write_file(tape["nst"], b"x" * 512, 512)
    mt(tape["nst"], "rewind")
    fd = os.open(tape["nst"], os.O_RDONLY)
    try:
        assert os.read(fd, 4096) == b"x" * 512
        assert os.read(fd, 4096) == b""  # the filemark
        assert os.read(fd, 4096) == b""  # end of data (BLANK CHECK), reported once as 0
        with pytest.raises(OSError) as e:
            os.read(fd, 4096)  # and from then on as EIO
        assert e.value.errno == errno.EIO
    finally:
        os.close(fd)


def test_writing_into_the_early_warning_zone_gives_enospc(tcmu_tape):
    dev = tcmu_tape(name="small0", size="2MiB", early_warning="512KiB")
    fd = os.open(dev["nst"], os.O_WRONLY)
    written, err = 0, None
    try:
        for _ in range(64):
            try:
                written += os.write(fd, b"\xa5" * 65536)
            except OSError as e:
                err = e.errno
                break
    finally:
        os.close(fd)
    assert err == errno.ENOSPC
    assert 1536 * 1024 <= written <= 2 * 1024 * 1024


def test_tar_round_trip(tape, tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    for i in range(5):
        (src / f"f{i}").write_bytes(os.urandom(3000 * (i + 1)))
    (src / "sub" / "deep").write_text("deep\n")
    run("tar", "cf", tape["nst"], "-C", str(src), ".", check=True)
    mt(tape["nst"], "rewind")
    listing = run("tar", "tf", tape["nst"], check=True).stdout
    assert "./sub/deep" in listing and "./f4" in listing
    mt(tape["nst"], "rewind")
    dst = tmp_path / "dst"
    dst.mkdir()
    run("tar", "xf", tape["nst"], "-C", str(dst), check=True)
    run("diff", "-r", str(src), str(dst), check=True)


def test_a_write_protected_cartridge_refuses_open_for_write(tcmu_tape):
    dev = tcmu_tape(name="wp0", write_protect=True)
    with pytest.raises(OSError) as e:
        os.open(dev["nst"], os.O_WRONLY)
    assert e.value.errno == errno.EROFS
    os.close(os.open(dev["nst"], os.O_RDONLY))


def assert_no_medium(nst):
    # A blocking open makes st wait up to 120 s for the drive to become ready before it
    # says ENOMEDIUM; with O_NONBLOCK it opens at once and the I/O says it.
    fd = os.open(nst, os.O_RDONLY | os.O_NONBLOCK)
    try:
        with pytest.raises(OSError) as e:
            os.read(fd, 512)
        assert e.value.errno == errno.ENOMEDIUM
    finally:
        os.close(fd)


def test_an_empty_drive_is_enomedium(tcmu_tape):
    dev = tcmu_tape(name="nomedia0", loaded=False)
    assert_no_medium(dev["nst"])


def test_a_media_image_fixture_is_served(tcmu_tape):
    dev = tcmu_tape(name="img0", image=FIXTURE)
    first = read_records(dev["nst"], 65536)
    assert [len(r) for r in first] == [4000, 26]
    assert first[1] == b"second record of file one\n"
    assert read_records(dev["nst"], 65536) == [b"file two, only record\n" * 10]
    assert hashlib.sha1(read_records(dev["nst"], 65536)[0]).hexdigest() == \
        hashlib.sha1(bytes(range(256)) * 4).hexdigest()


def test_mt_offline_unloads_the_cartridge(tape):
    mt(tape["nst"], "offline")
    assert_no_medium(tape["nst"])


def test_a_second_partition_through_mt_setpartition(tcmu_tape):
    dev = tcmu_tape(name="part0", size="16MiB", second_partition="4MiB")
    nst = dev["nst"]
    mt(nst, "stsetoptions", "can-partitions")
    write_file(nst, b"in partition zero" * 10, 170)
    mt(nst, "setpartition", "1")
    assert "partition=1" in mt(nst, "status").stdout
    write_file(nst, b"in partition one" * 10, 160)
    mt(nst, "rewind")
    assert read_records(nst, 4096) == [b"in partition one" * 10]
    mt(nst, "setpartition", "0")
    mt(nst, "rewind")
    assert read_records(nst, 4096) == [b"in partition zero" * 10]
