"""Devices exported over LIO's iSCSI fabric, reached with libiscsi's tools in the guest."""
import os
import pathlib
import re

from conftest import TH, our_objects, run, start_server

INI = "iqn.2026-11.org.tcmu-harness:e2e-initiator"


def test_iscsi_inq_readcapacity_and_ls_reach_an_exported_disk(tcmu_disk):
    dev = tcmu_disk(name="isc0", size="16MiB", export="iscsi")
    url = dev.iscsi
    # the default IQN carries this harness's instance id: another harness's isc0 is another
    m = re.fullmatch(r"iscsi://127\.0\.0\.1:3260/(iqn\.2026-11\.org\.tcmu-harness:[0-9a-f]{8}-isc0)/0",
                     url)
    assert m, url
    assert dev.sd is None and dev.sg is None  # not on the loopback fabric
    p = run("iscsi-inq", "-i", INI, url, check=True)
    assert "Peripheral Device Type:DIRECT_ACCESS" in p.stdout
    p = run("iscsi-readcapacity16", "-i", INI, url, check=True)
    assert "RETURNED LOGICAL BLOCK ADDRESS:32767" in p.stdout
    p = run("iscsi-ls", "-i", INI, "iscsi://127.0.0.1:3260", check=True)
    assert m.group(1) in p.stdout


def test_two_luns_behind_one_iscsi_target_and_a_tape(tcmu_disk, tcmu_tape):
    tcmu_disk(spec="name=lunA,size=8MiB,export=iscsi,iqn=iqn.2026-11.org.tcmu-harness:shared,"
                   "lun=0")
    tape = tcmu_tape(spec="name=lunB,export=iscsi,iqn=iqn.2026-11.org.tcmu-harness:shared,lun=1")
    base = "iscsi://127.0.0.1:3260/iqn.2026-11.org.tcmu-harness:shared"
    assert tape.iscsi == base + "/1"
    assert "DIRECT_ACCESS" in run("iscsi-inq", "-i", INI, base + "/0", check=True).stdout
    assert "SEQUENTIAL_ACCESS" in run("iscsi-inq", "-i", INI, base + "/1", check=True).stdout


def test_iscsi_export_is_removed_with_the_device(tcmu_disk):
    dev = tcmu_disk(name="isc1", size="8MiB", export="iscsi")
    assert any("isc1" in p for p in our_objects())
    dev.remove()
    assert our_objects() == []


def test_cleanup_removes_an_iscsi_export_a_killed_harness_left():
    s = start_server("name=isccrash,size=8MiB,export=iscsi")
    s.kill()
    assert any("isccrash" in p for p in our_objects())
    p = run(TH, "cleanup", check=True)
    assert re.search(r"tcmu-harness:[0-9a-f]{8}-isccrash", p.stdout), p.stdout
    assert our_objects() == []


def test_acls_and_chap_keep_out_strangers_and_missing_secrets(tcmu_disk):
    dev = tcmu_disk(name="isc2", size="8MiB", export="iscsi", initiators=[INI],
                    chap={"user": "th-user", "password": "th-secret-1234"})
    url = dev.iscsi
    with_secret = url.replace("iscsi://", "iscsi://th-user%th-secret-1234@")
    wrong_secret = url.replace("iscsi://", "iscsi://th-user%not-the-secret@")
    assert run("iscsi-inq", "-i", INI, url).returncode != 0  # no CHAP answer
    assert run("iscsi-inq", "-i", INI, wrong_secret).returncode != 0
    stranger = "iqn.2026-11.org.example:stranger"
    assert run("iscsi-inq", "-i", stranger, with_secret).returncode != 0  # not in the ACLs
    p = run("iscsi-inq", "-i", INI, with_secret, check=True)
    assert "Peripheral Device Type:DIRECT_ACCESS" in p.stdout


def _acl_leftovers(iqn):
    acls = pathlib.Path("/sys/kernel/config/target/iscsi") / iqn / "tpgt_1" / "acls"
    return [str(p) for p in acls.glob("*")] if acls.is_dir() else []


def _export_with_initiators(tcmu_disk, n, name):
    inis = [f"iqn.2026-11.org.example:ini{i}" for i in range(n)]
    dev = tcmu_disk(name=name, size="8MiB", export="iscsi", initiators=inis)
    iqn = dev.iscsi.split("/")[3]  # the default IQN carries the instance id
    acls = _acl_leftovers(iqn)
    assert sorted(pathlib.Path(p).name for p in acls) == sorted(inis)
    dev.remove()
    assert _acl_leftovers(iqn) == []
    assert not (pathlib.Path("/sys/kernel/config/target/iscsi") / iqn).exists()
    assert our_objects() == []


def test_iscsi_export_with_4_initiators_leaves_no_configfs_object(tcmu_disk):
    # 17 objects (defect 6: the 17th, a mapped LUN's link, was never recorded)
    _export_with_initiators(tcmu_disk, 4, "iscacl4")


def test_iscsi_export_with_8_initiators_leaves_no_configfs_object(tcmu_disk):
    _export_with_initiators(tcmu_disk, 8, "iscacl8")


def test_iscsi_acls_of_a_spec_go_with_a_server_stopped_by_shutdown():
    # the same through a server of its own: shutdown tears down what is still there
    inis = [f"iqn.2026-11.org.example:ini{i}" for i in range(4)]
    s = start_server("name=iscsd,size=8MiB,export=iscsi," +
                     ",".join(f"initiator={i}" for i in inis))
    iqn = s["iscsd"].iscsi.split("/")[3]
    assert sorted(pathlib.Path(p).name for p in _acl_leftovers(iqn)) == sorted(inis)
    assert s.stop() == 0, s.stderr
    assert _acl_leftovers(iqn) == []
