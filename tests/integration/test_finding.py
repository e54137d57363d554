"""Finding the right package, through real playbooks: the lookup refuses a misspelt option and finds the newest
build of a branch; uploads are found by the name they were given (module and lookup)."""

from harness import GIT_APP, NO_MODELREPO, REV1, REV2, make_mda, run_playbook, write_requests

FAILS_TO_START = "b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6"  # the seed's feature/login-page revision


def build(emu, tmp_path, revision, branch="main"):
    run = run_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch=branch, revision=revision)
    assert run.rc == 0, run
    return run.result["package_id"]


def lookup(emu, tmp_path, **options):
    return run_playbook(emu, "lookup_options", tmp_path, app_id=GIT_APP, lookup_options=options).result


def test_the_lookup_refuses_a_misspelt_option_and_finds_the_newest_of_a_branch(emu, tmp_path):
    older = build(emu, tmp_path, REV1)
    main = build(emu, tmp_path, REV2)
    feature = build(emu, tmp_path, FAILS_TO_START, branch="feature/login-page")  # built last
    emu.control("DELETE", "requests")
    misspelt = lookup(emu, tmp_path, brnach="main")
    assert misspelt["failed"] is True, misspelt
    assert "does not know the option brnach (did you mean branch?)" in misspelt["msg"]
    assert emu.requests() == []  # refused before any call
    assert lookup(emu, tmp_path)["found"]["id"] == feature  # the newest of any branch
    newest_of_main = lookup(emu, tmp_path, branch="main")
    assert newest_of_main["failed"] is False and newest_of_main["found"]["id"] == main, newest_of_main
    assert lookup(emu, tmp_path, branch="main", revision=REV1)["found"]["id"] == older
    assert lookup(emu, tmp_path, branch="release-2", missing="empty")["found"] == {}
    revision_alone = lookup(emu, tmp_path, revision=REV1)
    assert revision_alone["failed"] is True and "revision needs branch" in revision_alone["msg"]


def test_uploads_are_found_by_the_name_they_were_given(emu, tmp_path):
    src = make_mda(tmp_path / "my-app_2.2.1.mda")
    upload = run_playbook(emu, "upload", tmp_path, app_id=GIT_APP, src=src)
    assert upload.rc == 0, upload
    stored = upload.result["package"]["file_name"]
    assert stored != "my-app_2.2.1.mda" and stored.startswith("my-app_2.2.1.sha256-")
    for name in ("my-app_2.2.1.mda", "my-app_2.2.1", stored):
        info = run_playbook(emu, "info", tmp_path, app_id=GIT_APP, file_name=name)
        assert [p["id"] for p in info.result["packages"]] == [upload.result["package_id"]], (name, info.result)
    assert lookup(emu, tmp_path, file_name="my-app_2.2.1.mda")["found"]["id"] == upload.result["package_id"]
    assert lookup(emu, tmp_path, file_name="my-app_2.2", missing="empty")["found"] == {}
    assert [(r["method"], r["path"].rsplit("/", 1)[1]) for r in write_requests(emu)] == [("POST", "packages")]  # the upload


def test_check_mode_gives_no_model_version_it_cannot_know(emu, tmp_path):
    """A 7-digit revision of an app whose version control nothing tells: an SVN revision and a git hash's first 7
    characters give other model versions, so check mode says it does not know, and why."""
    checked = run_playbook(emu, "build", tmp_path, check=True, app_id=GIT_APP, branch="release-2", revision="2718281")
    assert checked.rc == 0 and checked.result["changed"] is True, checked
    assert "model_version" not in checked.result or checked.result["model_version"] is None, checked.result
    assert any("digits only" in note for note in checked.result["notes"]), checked.result
    known = run_playbook(emu, "build", tmp_path, check=True, app_id=GIT_APP, branch="main", revision=REV1)
    assert known.result["model_version"] == f"1.0.0.{REV1[:8]}" and "notes" not in known.result
    assert write_requests(emu) == []


def test_a_build_of_a_revision_the_branch_does_not_have_is_refused_before_any_write(emu, tmp_path):
    missing = "0123456789abcdef0123456789abcdef01234567"
    run = run_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch="main", revision=missing, allow_failure=True)
    assert run.result["failed"] is True and f"Not built: revision {missing} is not a commit of branch main" in run.result["msg"]
    assert write_requests(emu) == []
    # a 7-character prefix of a commit of the branch is that commit
    short = run_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch="main", revision=REV2[:7])
    assert short.rc == 0 and short.result["changed"] is True, short
    # a token that cannot read the App Repository: the check is skipped, with a warning, and the build is sent
    blind = run_playbook(emu, "build", tmp_path, token=NO_MODELREPO, app_id=GIT_APP, branch="main", revision=missing,
                         allow_failure=True)
    assert any("the check was skipped" in w for w in blind.result.get("warnings", [])), blind.result
    assert [r["status"] for r in write_requests(emu) if r["path"].endswith("/packages/build")][-1] == 403
