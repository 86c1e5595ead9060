#!/usr/bin/python3
"""Issues one CDB through SG_IO and prints what the initiator got back:
status, data bytes received (transfer - resid), sense key/asc/ascq, and the data's sha1.
usage: sgio.py /dev/sgN DATA_IN_LEN HEXBYTES..."""
import ctypes
import fcntl
import hashlib
import os
import sys

SG_IO = 0x2285
SG_DXFER_FROM_DEV = -3


class SgIoHdr(ctypes.Structure):
    _fields_ = [("interface_id", ctypes.c_int), ("dxfer_direction", ctypes.c_int),
                ("cmd_len", ctypes.c_ubyte), ("mx_sb_len", ctypes.c_ubyte),
                ("iovec_count", ctypes.c_ushort), ("dxfer_len", ctypes.c_uint),
                ("dxferp", ctypes.c_void_p), ("cmdp", ctypes.c_void_p),
                ("sbp", ctypes.c_void_p), ("timeout", ctypes.c_uint),
                ("flags", ctypes.c_uint), ("pack_id", ctypes.c_int),
                ("usr_ptr", ctypes.c_void_p), ("status", ctypes.c_ubyte),
                ("masked_status", ctypes.c_ubyte), ("msg_status", ctypes.c_ubyte),
                ("sb_len_wr", ctypes.c_ubyte), ("host_status", ctypes.c_ushort),
                ("driver_status", ctypes.c_ushort), ("resid", ctypes.c_int),
                ("duration", ctypes.c_uint), ("info", ctypes.c_uint)]


def main():
    dev, length, cdb = sys.argv[1], int(sys.argv[2]), bytes.fromhex("".join(sys.argv[3:]))
    data = ctypes.create_string_buffer(length)
    cdbb = ctypes.create_string_buffer(cdb, len(cdb))
    sense = ctypes.create_string_buffer(96)
    h = SgIoHdr(interface_id=ord("S"), dxfer_direction=SG_DXFER_FROM_DEV, cmd_len=len(cdb),
                mx_sb_len=96, dxfer_len=length, dxferp=ctypes.addressof(data),
                cmdp=ctypes.addressof(cdbb), sbp=ctypes.addressof(sense), timeout=30000)
    fd = os.open(dev, os.O_RDWR)
    fcntl.ioctl(fd, SG_IO, h)
    got = length - h.resid
    sb = sense.raw[:h.sb_len_wr]
    key = asc = ascq = None
    if sb:
        if sb[0] & 0x7f in (0x72, 0x73):
            key, asc, ascq = sb[1] & 0xf, sb[2], sb[3]
        else:
            key, asc, ascq = sb[2] & 0xf, sb[12], sb[13]
    print(f"status={h.status:#04x} received={got} resid={h.resid}", end="")
    if key is not None:
        print(f" sense_key={key:#x} asc={asc:#04x} ascq={ascq:#04x}", end="")
    print(f" sha1={hashlib.sha1(data.raw[:got]).hexdigest()}")


main()
