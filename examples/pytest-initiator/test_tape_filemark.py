"""A tape read with an injected filemark: the drive reports a filemark where the medium
has none; the application (dd over st) sees end of file there, and reading on gets the
rest of the records, which the injected answer never consumed."""
import subprocess


def dd(nst, out):
    return subprocess.run(["dd", f"if={nst}", f"of={out}", "bs=64k"], capture_output=True,
                          text=True, timeout=120)


def test_an_injected_filemark_ends_the_first_file_early(tcmu_tape, tmp_path):
    t = tcmu_tape(size="16MiB", media=[{"text": "record one\n"}, {"text": "record two\n"},
                                       {"text": "record three\n"}, {"filemark": 1}])
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

    # READ(6) by READ(6): one, the injected filemark, two, three, the medium's filemark
    reads = t.trace(after=since, op="READ_6")
    assert [r["rule"] for r in reads] == [None, "filemark", None, None, None]
    assert [r["data_in"] for r in reads] == [11, 0, 11, 13, 0]
    injected, real = reads[1]["sense"], reads[4]["sense"]
    assert reads[1]["status"] == 2 and injected["fm"] is True
    assert (injected["key"], injected["asc"], injected["ascq"]) == ("NO_SENSE", 0, 1)
    assert real["fm"] is True and (real["asc"], real["ascq"]) == (0, 1)  # the same, for real
