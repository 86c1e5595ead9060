"""A tape read with an injected filemark: the drive reports a filemark where the medium
has none; the application (dd over st) sees end of file there, and reading on gets the
rest of the records, which the injected answer never consumed."""
import subprocess


def dd(nst, out):
    return subprocess.run(["dd", f"if={nst}", f"of={out}", "bs=64k"], capture_output=True,
                          text=True, timeout=120)


def test_an_injected_filemark_ends_the_first_file_early(tcmu_tape, tmp_path):
    t = tcmu_tape(size="16MiB", media=[{"text": "record one\n"}, {"text": "record two\n"},
                                       {"text": "record three\n"}])
    fm = t.add_rule(match={"op": "READ_6", "nth": 2},
                    respond={"sense": {"key": "NO_SENSE", "asc": 0x00, "ascq": 0x01,
                                       "fm": True, "info": "residue"}},
                    times=1, name="filemark")
    since = t.cursor()

    first = dd(t.nst, tmp_path / "f1")
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "f1").read_text() == "record one\n"  # ended by the filemark
    assert "0+1 records in" in first.stderr  # one (short) record
    assert fm.fired == 1

    second = dd(t.nst, tmp_path / "f2")
    assert second.returncode == 0, second.stderr
    assert (tmp_path / "f2").read_text() == "record two\nrecord three\n"
    assert "0+2 records in" in second.stderr

    reads = t.trace(after=since, op="READ_6")
    assert [r["rule"] for r in reads[:3]] == [None, "filemark", None]
    injected = reads[1]["sense"]
    assert reads[1]["status"] == 2 and injected["fm"] is True
    assert (injected["key"], injected["asc"], injected["ascq"]) == ("NO_SENSE", 0, 1)
    assert [r["data_in"] for r in reads[:4]] == [11, 0, 11, 13]
