"""INQUIRY, VPD, capacity and mode pages as the sg3_utils tools see them."""
import re

from conftest import run, run_bytes


def test_sg_inq_reports_our_vendor_and_disk_type(disk):
    p = run("sg_inq", disk["sg"], check=True)
    assert "Vendor identification: TCMUHARN" in p.stdout
    assert "Peripheral device type: disk" in p.stdout
    assert "version=0x06" in p.stdout


def test_sg_vpd_two_devices_report_different_naa_ids(tcmu_disk):
    s = {n: tcmu_disk(name=n, size="8MiB") for n in ("naa-a", "naa-b")}
    ids = []
    for name in ("naa-a", "naa-b"):
        p = run("sg_vpd", "-p", "di", s[name].sg, check=True)
        m = re.search(r"designator type: NAA.*\n\s+(0x[0-9a-f]+)", p.stdout)
        assert m, p.stdout
        ids.append(m.group(1))
    assert ids[0] != ids[1]
    assert ids[0] == "0x" + s["naa-a"].wwn[4:]


def test_sg_vpd_lists_supported_pages_with_device_type(disk):
    p = run("sg_vpd", "-p", "sv", disk["sg"], check=True)
    for page in ("Unit serial number", "Device identification", "Block limits",
                 "Block device characteristics", "Logical block provisioning"):
        assert page in p.stdout, p.stdout
    raw = run_bytes("sg_vpd", "-p", "0x80", "--raw", disk["sg"]).stdout
    assert raw[0] == 0x00 and raw[1] == 0x80


def test_sg_readcap_16_reports_size_and_block_length(tcmu_disk):
    dev = tcmu_disk(name="cap0", size="16MiB", block_size=4096)
    p = run("sg_readcap", "--16", dev["sg"], check=True)
    assert "Last LBA=4095" in p.stdout
    assert "Logical block length=4096 bytes" in p.stdout
    assert "lbpme=1" in p.stdout


def test_sg_readcap_10_reports_last_lba(disk):
    p = run("sg_readcap", disk["sg"], check=True)
    assert "Last LBA=131071" in p.stdout


def test_sg_modes_shows_caching_page_with_wce(disk):
    p = run("sg_modes", "-p", "8", disk["sg"], check=True)
    # Page 08h, length 12h, byte 2 = 04h: WCE set.
    assert re.search(r"00\s+08 12 04", p.stdout), p.stdout


def test_sg_modes_all_pages(disk):
    p = run("sg_modes", "-a", disk["sg"], check=True)
    for name in ("Read-Write error recovery", "Caching", "Control"):
        assert name in p.stdout, p.stdout


def test_sg_turs_succeeds(disk):
    run("sg_turs", "-n", "5", disk["sg"], check=True)


def test_lsscsi_lists_the_device_with_its_nodes(disk):
    p = run("lsscsi", "-g", check=True)
    line = [l for l in p.stdout.splitlines() if disk["address"] in l]
    assert line, p.stdout
    assert "TCMUHARN" in line[0] and disk["sd"] in line[0] and disk["sg"] in line[0]


def test_several_luns_behind_one_loopback_target(tcmu_disk):
    # lun= and target= are SPEC keys (serve --device), not YAML ones
    a = tcmu_disk(spec="name=lun-a,size=8MiB,lun=0,target=naa.5001405000000001")
    b = tcmu_disk(spec="name=lun-b,size=8MiB,lun=1,target=naa.5001405000000001")
    assert a.address.rsplit(":", 1)[0] == b.address.rsplit(":", 1)[0]
    assert a.address.endswith(":0") and b.address.endswith(":1")
    run("sg_inq", b.sg, check=True)
