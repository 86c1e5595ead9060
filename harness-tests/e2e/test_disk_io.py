"""Data through the real kernel: sg_dd, dd with O_DIRECT, fio with verification."""
import os

from conftest import run, run_bytes


def write_file(path, data):
    with open(path, "wb") as f:
        f.write(data)


def test_sg_dd_write_then_direct_read_back_is_identical(disk, tmp_path):
    data = os.urandom(4 << 20)
    src, back = tmp_path / "src", tmp_path / "back"
    write_file(src, data)
    run("sg_dd", f"if={src}", f"of={disk['sg']}", "bs=512", "count=8192", check=True)
    run("dd", f"if={disk['sd']}", f"of={back}", "bs=1M", "count=4", "iflag=direct", check=True)
    assert back.read_bytes() == data


def test_direct_write_then_sg_dd_read_back_is_identical(disk, tmp_path):
    data = os.urandom(1 << 20)
    src, back = tmp_path / "src", tmp_path / "back"
    write_file(src, data)
    run("dd", f"if={src}", f"of={disk['sd']}", "bs=64k", "seek=100", "oflag=direct", check=True)
    run("sg_dd", f"if={disk['sg']}", f"of={back}", "bs=512", "skip=12800", "count=2048",
        check=True)
    assert back.read_bytes() == data


def test_sg_raw_read6_at_lba_0_returns_block_0(disk, tmp_path):
    block = os.urandom(512)
    write_file(tmp_path / "b", block)
    run("dd", f"if={tmp_path / 'b'}", f"of={disk['sd']}", "bs=512", "oflag=direct", check=True)
    out = tmp_path / "out"
    run("sg_raw", "-r", "512", "-o", out, disk["sg"], "08", "00", "00", "00", "01", "00",
        check=True)
    assert out.read_bytes() == block


def test_sg_raw_inquiry_allocation_length_5_returns_5_bytes(disk, tmp_path):
    out = tmp_path / "out"
    run("sg_raw", "-r", "255", "-o", out, disk["sg"], "12", "00", "00", "00", "05", "00",
        check=True)
    assert len(out.read_bytes()) == 5


def test_sg_raw_unknown_opcode_exits_9(disk):
    p = run("sg_raw", disk["sg"], "c5", "00", "00", "00", "00", "00", "00", "00", "00", "00")
    assert p.returncode == 9, p.stderr


def test_sg_raw_read_past_capacity_is_lba_out_of_range(disk):
    # READ(10) at LBA 131072 on a 131072-block disk.
    p = run("sg_raw", "-r", "512", disk["sg"], "28", "00", "00", "02", "00", "00", "00", "00",
            "01", "00")
    assert p.returncode == 22, p.stderr  # SG_LIB_LBA_OUT_OF_RANGE
    assert "Logical block address out of range" in p.stderr


def test_sg_raw_reserved_bit_is_invalid_field_in_cdb(disk):
    # TEST UNIT READY with a reserved bit set in byte 1.
    p = run("sg_raw", disk["sg"], "00", "01", "00", "00", "00", "00")
    assert p.returncode == 5, p.stderr
    assert "Invalid field in cdb" in p.stderr


def test_sync_cache_write_same_and_unmap(disk, tmp_path):
    run("sg_sync", disk["sg"], check=True)
    pattern = b"\xab" * 512
    write_file(tmp_path / "pat", pattern)
    run("sg_write_same", "--16", "--lba=1000", "--num=64", f"--in={tmp_path / 'pat'}",
        disk["sg"], check=True)
    got = run_bytes("dd", f"if={disk['sd']}", "bs=512", "skip=1000", "count=64",
                    "iflag=direct").stdout
    assert got == pattern * 64
    run("sg_unmap", "--lba=1000", "--num=64", disk["sg"], check=True)
    got = run_bytes("dd", f"if={disk['sd']}", "bs=512", "skip=1000", "count=64",
                    "iflag=direct").stdout
    assert got == bytes(512 * 64)


def test_compare_and_write_swaps_only_on_match(disk, tmp_path):
    old, new = os.urandom(512), os.urandom(512)
    write_file(tmp_path / "old", old)
    run("dd", f"if={tmp_path / 'old'}", f"of={disk['sd']}", "bs=512", "seek=7", "oflag=direct",
        check=True)
    write_file(tmp_path / "cw", old + new)
    run("sg_compare_and_write", f"--in={tmp_path / 'cw'}", "--lba=7", "--num=1", disk["sg"],
        check=True)
    write_file(tmp_path / "bad", os.urandom(512) + old)
    p = run("sg_compare_and_write", f"--in={tmp_path / 'bad'}", "--lba=7", "--num=1",
            disk["sg"])
    assert p.returncode == 14, p.stderr  # SG_LIB_CAT_MISCOMPARE
    got = run_bytes("dd", f"if={disk['sd']}", "bs=512", "skip=7", "count=1",
                    "iflag=direct").stdout
    assert got == new


def test_fio_verify_with_workers_out_of_order_completion(tcmu_disk):
    dev = tcmu_disk(name="ooo0", size="32MiB", workers=4)
    p = run("fio", "--name=v", f"--filename={dev['sd']}", "--direct=1", "--rw=randwrite",
            "--bs=4k", "--iodepth=16", "--ioengine=libaio", "--size=16M", "--verify=crc32c",
            "--do_verify=1", "--verify_fatal=1", "--output-format=terse", timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr


def test_file_backing_holds_the_written_data(tcmu_disk, tmp_path):
    backing = tmp_path / "disk.img"
    dev = tcmu_disk(name="file0", size="4MiB", backing=f"file:{backing}")
    data = os.urandom(65536)
    write_file(tmp_path / "d", data)
    run("dd", f"if={tmp_path / 'd'}", f"of={dev['sd']}", "bs=64k", "seek=2", "oflag=direct",
        check=True)
    run("sg_sync", dev["sg"], check=True)
    assert backing.read_bytes()[131072:196608] == data
