"""mx_package_download through real playbooks against the emulator: resume, URL renewal, idempotency, check mode."""

import filecmp
import os
import stat

import pytest

from harness import FAST, GIT_APP, digest_name, make_mda, run_playbook
from mxpc_emulator.testing import EmulatorProcess

MIB = 1024 * 1024


def uploaded(emu, tmp_path, size=3 * MIB, name="big.mda"):
    src = make_mda(tmp_path / name, size=size)
    run = run_playbook(emu, "upload", tmp_path, app_id=GIT_APP, src=src)
    assert run.rc == 0, run
    return src, run.result["package_id"]


def downloads(emu):
    return [r for r in emu.requests() if r["path"].startswith("/_files/")]


def url_requests(emu):
    return [r for r in emu.requests() if r["query"].get("url") == "true"]


def test_download_into_a_folder_then_rerun_force_and_check_mode(emu, tmp_path):
    src, pkg = uploaded(emu, tmp_path)
    folder = tmp_path / "out"
    folder.mkdir()
    emu.control("DELETE", "requests")
    first = run_playbook(emu, "download", tmp_path, app_id=GIT_APP, package_id=pkg, dest=str(folder), file_mode="0640")
    assert first.rc == 0, first
    dest = str(folder / digest_name(src))
    assert first.result["changed"] is True and first.result["dest"] == dest
    assert first.result["size"] == os.path.getsize(src) and first.result["resumed"] == 0
    assert first.result["package"]["id"] == pkg and "url" not in first.result["package"]
    assert filecmp.cmp(src, dest, shallow=False)
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o640
    # no temporary file left behind; the record of which package the file holds beside it
    assert sorted(os.listdir(folder)) == sorted([digest_name(src), f".{digest_name(src)}.mendix-package.json"])
    assert [(r["status"], r["range"], r["authorization"]) for r in downloads(emu)] == [(200, None, False)]

    emu.control("DELETE", "requests")
    again = run_playbook(emu, "download", tmp_path, app_id=GIT_APP, package_id=pkg, dest=dest, file_mode="0640")
    assert again.rc == 0 and again.result["changed"] is False and again.result["elapsed"] == 0
    assert downloads(emu) == [] and url_requests(emu) == []
    mode_only = run_playbook(emu, "download", tmp_path, app_id=GIT_APP, package_id=pkg, dest=dest, file_mode="0600")
    assert mode_only.rc == 0 and mode_only.result["changed"] is True and downloads(emu) == []
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o600

    forced = run_playbook(emu, "download", tmp_path, app_id=GIT_APP, package_id=pkg, dest=dest, force=True)
    assert forced.rc == 0 and forced.result["changed"] is True and len(downloads(emu)) == 1

    emu.control("DELETE", "requests")
    other = str(tmp_path / "other.mda")
    check = run_playbook(emu, "download", tmp_path, check=True, app_id=GIT_APP, package_id=pkg, dest=other)
    assert check.rc == 0 and check.result["changed"] is True
    assert not os.path.exists(other) and downloads(emu) == [] and url_requests(emu) == []
    with open(dest, "r+b") as handle:  # a file of another size is replaced
        handle.truncate(10)
    check = run_playbook(emu, "download", tmp_path, check=True, app_id=GIT_APP, package_id=pkg, dest=dest)
    assert check.result["changed"] is True and os.path.getsize(dest) == 10
    fixed = run_playbook(emu, "download", tmp_path, app_id=GIT_APP, package_id=pkg, dest=dest)
    assert fixed.result["changed"] is True and filecmp.cmp(src, dest, shallow=False)


def test_broken_downloads_resume_from_the_bytes_on_disk(emu, tmp_path):
    src, pkg = uploaded(emu, tmp_path)
    dest = str(tmp_path / "resumed.mda")
    emu.control("DELETE", "requests")
    emu.control("POST", "faults", {"rate": 1, "kinds": ["truncate"], "path": "^/_files/", "count": 2})
    run = run_playbook(emu, "download", tmp_path, app_id=GIT_APP, package_id=pkg, dest=dest)
    assert run.rc == 0, run
    assert run.result["resumed"] == 2 and run.result["changed"] is True
    assert filecmp.cmp(src, dest, shallow=False)
    got = downloads(emu)
    assert [r["fault"] for r in got] == ["truncate", "truncate", None]
    assert got[0]["range"] is None and got[1]["range"].startswith("bytes=") and got[2]["status"] == 206
    offsets = [int(r["range"][len("bytes="):-1]) for r in got[1:]]
    assert 0 < offsets[0] < offsets[1] < os.path.getsize(src)  # each attempt went on from where the last one stopped
    assert not any(r["authorization"] for r in got)
    assert len(url_requests(emu)) == 1


def test_a_download_that_keeps_breaking_fails_and_leaves_dest_alone(emu, tmp_path):
    _src, pkg = uploaded(emu, tmp_path)
    dest = tmp_path / "keep.mda"
    dest.write_bytes(b"an older file")
    emu.control("POST", "faults", {"rate": 1, "kinds": ["truncate"], "path": "^/_files/"})
    run = run_playbook(emu, "download", tmp_path, app_id=GIT_APP, package_id=pkg, dest=str(dest), retries=1)
    assert run.rc != 0
    assert "broke off after" in run.stdout and "gave up after 1 retry; raise retries" in run.stdout
    assert dest.read_bytes() == b"an older file"
    assert sorted(os.listdir(tmp_path)) == sorted(p for p in os.listdir(tmp_path) if not p.endswith(".part"))


def test_an_expired_url_is_renewed():
    # A lifetime of some seconds: the renewed URL must still be valid when the module starts its second download,
    # which a busy two-core machine does not promise within one second (with 1 s this test renewed twice, once).
    ttl = 5
    with EmulatorProcess(args=FAST + ["--url-ttl-seconds", str(ttl)]) as emu:
        import tempfile  # pylint: disable=import-outside-toplevel
        import pathlib  # pylint: disable=import-outside-toplevel

        with tempfile.TemporaryDirectory() as tmp:
            tmp_path = pathlib.Path(tmp)
            src, pkg = uploaded(emu, tmp_path, size=MIB)
            emu.control("DELETE", "requests")
            # The first download waits longer than the URL's lifetime before it is looked at: by then it has expired.
            emu.control("POST", "faults", {"rate": 1, "kinds": ["slow"], "slow_seconds": ttl + 1.5, "path": "^/_files/",
                                           "count": 1})
            run = run_playbook(emu, "download", tmp_path, app_id=GIT_APP, package_id=pkg, dest=str(tmp_path / "late.mda"))
            assert run.rc == 0, run
            assert run.result["resumed"] == 1 and filecmp.cmp(src, str(tmp_path / "late.mda"), shallow=False)
            assert [r["status"] for r in downloads(emu)] == [403, 200]
            assert len(url_requests(emu)) == 2


@pytest.mark.parametrize("given,expected", [
    ({"package_id": "nope"}, "package_id must be a UUID"),
    ({"dest": "/no/such/folder/x.mda"}, "dest's folder /no/such/folder does not exist"),
    ({"package_id": "00000000-0000-4000-8000-000000000000"}, "no such package in app"),
])
def test_bad_input_is_named_before_any_download(emu, tmp_path, given, expected):
    args = dict(app_id=GIT_APP, package_id="00000000-0000-4000-8000-000000000001", dest=str(tmp_path / "x.mda"))
    args.update(given)
    emu.control("DELETE", "requests")
    run = run_playbook(emu, "download", tmp_path, **args)
    assert run.rc != 0 and expected in run.stdout, run
    assert downloads(emu) == [] and url_requests(emu) == []


def test_a_file_of_another_package_of_the_same_size_is_replaced(emu, tmp_path):
    """Two builds of one branch often have one size: the file at dest must be the package asked for, not one of the
    same size."""
    first_src, first = uploaded(emu, tmp_path, size=200000, name="first.mda")
    second_src, second = uploaded(emu, tmp_path, size=200000, name="second.mda")
    assert os.path.getsize(first_src) == os.path.getsize(second_src)
    dest = str(tmp_path / "app.mda")
    assert run_playbook(emu, "download", tmp_path, app_id=GIT_APP, package_id=first, dest=dest).result["changed"] is True
    assert filecmp.cmp(first_src, dest, shallow=False)
    emu.control("DELETE", "requests")
    swapped = run_playbook(emu, "download", tmp_path, app_id=GIT_APP, package_id=second, dest=dest)
    assert swapped.rc == 0 and swapped.result["changed"] is True, swapped
    assert filecmp.cmp(second_src, dest, shallow=False) and len(downloads(emu)) == 1
    again = run_playbook(emu, "download", tmp_path, app_id=GIT_APP, package_id=second, dest=dest)
    assert again.result["changed"] is False and len(downloads(emu)) == 1
    # a file put there by hand (no record, or one that no longer matches) is replaced too
    with open(first_src, "rb") as source, open(dest, "wb") as target:
        target.write(source.read())
    replaced = run_playbook(emu, "download", tmp_path, app_id=GIT_APP, package_id=second, dest=dest)
    assert replaced.result["changed"] is True and filecmp.cmp(second_src, dest, shallow=False)
    os.unlink(str(tmp_path / ".app.mda.mendix-package.json"))
    unrecorded = run_playbook(emu, "download", tmp_path, app_id=GIT_APP, package_id=second, dest=dest)
    assert unrecorded.result["changed"] is True and len(downloads(emu)) == 3
