#!/usr/bin/env python3
"""Writes the hand-made seed inputs of the binary fuzz targets (cdb, ring) into
corpus/: the layouts are those fuzz_cdb.c and fuzz_ring.c read. Run again after a
layout changes; the fuzzers grow the corpora from here."""
import hashlib
import pathlib
import struct

HERE = pathlib.Path(__file__).resolve().parent


def cmd(cdb: bytes, out: bytes = b"", cap: int = 512, seg: int = 0) -> bytes:
    return bytes([len(cdb) - 1]) + cdb + struct.pack("<H", len(out)) + out + struct.pack("<HB", cap, seg)


def read10(lba: int, n: int) -> bytes:
    return struct.pack(">BBIBHB", 0x28, 0, lba, 0, n, 0)


def write10(lba: int, n: int) -> bytes:
    return struct.pack(">BBIBHB", 0x2A, 0, lba, 0, n, 0)


def cdb_seeds() -> dict[str, bytes]:
    disk, tape = 0, 1
    inquiry = bytes([0x12, 0, 0, 0, 96, 0])
    tur = bytes(6)
    rs = bytes([0x03, 0, 0, 0, 18, 0])
    seeds = {
        "disk-read-write": bytes([disk]) + cmd(write10(3, 1), b"\xab" * 512, 0)
        + cmd(read10(3, 1)) + cmd(inquiry, cap=96) + cmd(tur, cap=0),
        "disk-rc16-modesense": bytes([disk]) + cmd(bytes([0x9E, 0x10]) + bytes(8) + bytes([0, 0, 0, 32, 0, 0]), cap=32)
        + cmd(bytes([0x1A, 0, 0x3F, 0, 255, 0]), cap=255),
        "tape-write-read": bytes([tape]) + cmd(bytes([0x0A, 0, 0, 2, 0, 0]), b"\x11" * 512, 0)
        + cmd(bytes([0x10, 0, 0, 0, 1, 0]), cap=0) + cmd(bytes([0x01, 0, 0, 0, 0, 0]), cap=0)
        + cmd(bytes([0x08, 0, 0, 2, 0, 0]), cap=512) + cmd(bytes([0x08, 0, 0, 2, 0, 0]), cap=512)
        + cmd(rs, cap=18),
    }
    # One rule of each action kind on READ(10) of LBAs 0-7 (m: op and LBA range), then a
    # read it matches and one it does not.
    actions = {
        "sense": bytes([1]) + bytes([3]) + struct.pack("<H", 0x1100) + bytes([0, 2]) + struct.pack("<I", 0),
        "status": bytes([2, 0x08]),
        "short": bytes([3, 2]) + struct.pack("<H", 1),
        "corrupt": bytes([4, 3, 9]),
        "hang": bytes([5]),
        "ua": bytes([6]) + struct.pack("<H", 0x2900),
        "state": bytes([7, 1]),
    }
    for name, act in actions.items():
        rule = bytes([1 | 2, act[0]]) + bytes([7]) + bytes([0, 7]) + act[1:]
        seeds[f"disk-rule-{name}"] = bytes([disk | 2]) + rule + cmd(read10(2, 2), cap=1024, seg=0x81) + cmd(read10(100, 1))
    tape_rule = bytes([1, 1]) + bytes([2]) + bytes([3]) + struct.pack("<H", 0x1100) + bytes([0, 3]) + struct.pack("<I", 0)
    seeds["tape-rule-residue"] = bytes([tape | 2]) + tape_rule + cmd(bytes([0x0A, 1, 0, 0, 4, 0]), b"\x22" * 2048, 0) \
        + cmd(bytes([0x01, 0, 0, 0, 0, 0]), cap=0) + cmd(bytes([0x08, 1, 0, 0, 4, 0]), cap=2048)
    return seeds


MB, CMDR = 128, 4096
DATA_OFF = MB + CMDR


def cmd_entry(cid: int, cdb: bytes, iovs: list[tuple[int, int]], at: int) -> bytes:
    body_len = 48 + 16 * len(iovs)
    # at least a whole response (status, read_len, 96 bytes of sense) long
    length = max((body_len + len(cdb) + 7) // 8 * 8, 112)
    hdr = struct.pack("<IHBB", length | 1, cid, 0, 0)
    req = struct.pack("<IIIIQQQ", len(iovs), 0, 0, 0, MB + at + body_len, 0, 0)
    e = hdr + req
    for base, n in iovs:
        e += struct.pack("<QQ", base, n)
    e += cdb
    return e + bytes(length - len(e))


def tmr_entry(cid: int, kind: int, ids: list[int]) -> bytes:
    length = (32 + 2 * len(ids) + 7) // 8 * 8
    e = struct.pack("<IHBB", length | 2, cid, 0, 0) + struct.pack("<BBBBI", kind, 0, 0, 0, len(ids)) + bytes(16)
    e += b"".join(struct.pack("<H", i) for i in ids)
    return e + bytes(length - len(e))


def ring(entries: bytes, tail: int = 0, order: int = 0, flags: int = 0x0F) -> bytes:
    cmdr = bytearray(CMDR)
    for i, b in enumerate(entries):
        cmdr[(tail + i) % CMDR] = b
    head = (tail + len(entries)) % CMDR
    return struct.pack("<BHHB", flags, tail, head, order) + bytes(cmdr) + bytes(64)


def ring_seeds() -> dict[str, bytes]:
    r10 = read10(0, 1)
    e1 = cmd_entry(1, r10, [(DATA_OFF, 512)], 0)
    e2 = cmd_entry(2, write10(0, 1), [(DATA_OFF + 512, 512)], len(e1))
    tm = tmr_entry(0, 1, [1, 2])
    pad_at = CMDR - 16
    pad = struct.pack("<IHBB", 16 | 0, 0, 0, 0) + bytes(8)
    wrap = ring(pad + cmd_entry(3, r10, [(DATA_OFF, 512)], 0), tail=pad_at)
    many = cmd_entry(4, r10, [(DATA_OFF + 64 * i, 64) for i in range(8)], 0)
    return {
        "one-read": ring(e1),
        "read-write-tmr": ring(e1 + e2 + tmr_entry(0, 1, [1, 2])),
        "out-of-order": ring(e1 + e2, order=8),
        "pad-wrap": wrap,
        "eight-iovecs": ring(many),
        "tmr-only": ring(tm),
    }


def main() -> None:
    for target, seeds in (("cdb", cdb_seeds()), ("ring", ring_seeds())):
        d = HERE / "corpus" / target
        d.mkdir(parents=True, exist_ok=True)
        for name, data in seeds.items():
            (d / f"seed-{name}").write_bytes(data)
        print(target, len(seeds), "seeds")


if __name__ == "__main__":
    main()
