"""The Event-Driven Ansible source mendix.private_cloud.mx_packages: ansible-rulebook for real with the example
rulebook (docs/examples/eda), and the source on its own through server faults."""

import asyncio
import json
import os
import runpy
import signal
import subprocess
import time

import pytest
import yaml

from harness import ADMIN, GIT_APP, NAMESPACE, REV1, run_playbook, write_requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(ROOT, "docs", "examples", "eda")
SOURCE = os.path.join(ROOT, "extensions", "eda", "plugins", "event_source", "mx_packages.py")


def source_polls(emu):
    return [r for r in emu.requests() if r["method"] == "GET" and r["path"].endswith(f"/apps/{GIT_APP}/packages")]


def deploys(emu):
    return [r for r in write_requests(emu) if r["method"] == "PUT" and "/environments/" in r["path"]]


def running_package(emu):
    import urllib.request  # pylint: disable=import-outside-toplevel

    req = urllib.request.Request(f"{emu.url}/apps/{GIT_APP}/namespaces/{NAMESPACE}/environments/gitdemo",
                                 headers={"Authorization": f"MxToken {ADMIN}"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)["environment"]["deployment"]["packageId"]


def wait_for(what, condition, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


class Rulebook:
    """ansible-rulebook running the example rulebook against the emulator."""

    def __init__(self, emu, tmp_path, state_file):
        self.log = tmp_path / f"rulebook-{len(list(tmp_path.iterdir()))}.log"
        variables = yaml.safe_load(open(os.path.join(EXAMPLE, "vars.yml"), encoding="utf-8"))
        variables.update(mendix_state_file=str(state_file), mendix_poll_interval=0.5)
        vars_file = tmp_path / "vars.yml"
        vars_file.write_text(yaml.safe_dump(variables))
        env = dict(os.environ, MENDIX_PAT=ADMIN, MENDIX_PRIVATE_CLOUD_URL=emu.url, ANSIBLE_NOCOLOR="1",
                   MENDIX_REPOSITORY_URL=emu.url.rsplit("/api/v4", 1)[0] + "/v1")
        with open(self.log, "w", encoding="utf-8") as out:
            self.proc = subprocess.Popen(["ansible-rulebook", "--rulebook", "rulebook.yml", "--inventory", "inventory.yml",
                                          "--vars", str(vars_file), "-v"], cwd=EXAMPLE, env=env, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)

    def output(self):
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        text = self.output()
        assert ADMIN not in text, "the token appears in ansible-rulebook's output"
        return text


def test_a_new_package_of_main_is_deployed_once_across_a_restart(emu, tmp_path):
    emu.control("POST", "packages", {"appId": GIT_APP, "count": 2, "branch": "main"})  # there before the source starts
    state_file = tmp_path / "state" / "mx_packages.json"
    rulebook = Rulebook(emu, tmp_path, state_file)
    try:
        wait_for("the source's first poll", state_file.exists, timeout=120)
        built = run_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch="main", revision=REV1)
        assert built.rc == 0, built
        emu.control("POST", "packages", {"appId": GIT_APP, "count": 1, "branch": "feature-x"})  # not main: no deploy
        wait_for("the deploy of the new package", lambda: running_package(emu) == built.result["package_id"])
        polls = len(source_polls(emu))
        wait_for("three more polls", lambda: len(source_polls(emu)) >= polls + 3)
    finally:
        first_output = rulebook.stop()
    assert len(deploys(emu)) == 1, first_output[-3000:]  # the packages there at the start and the feature one: none
    assert first_output.count("PLAY [Deploy the new package to the test environment]") == 1
    assert set(json.loads(state_file.read_text())["apps"][GIT_APP]["recent"]) >= {built.result["package_id"]}

    polls = len(source_polls(emu))
    again = Rulebook(emu, tmp_path, state_file)
    try:
        wait_for("five polls after the restart", lambda: len(source_polls(emu)) >= polls + 5, timeout=120)
        assert len(deploys(emu)) == 1  # a restart emits nothing twice
        newer = emu.control("POST", "packages", {"appId": GIT_APP, "count": 1, "branch": "main"})["last"]
        wait_for("the deploy of the next package", lambda: running_package(emu) == newer)
    finally:
        second_output = again.stop()
    assert len(deploys(emu)) == 2 and second_output.count("PLAY [Deploy the new package") == 1


def run_source(args, seconds):
    """The source's main() for a while, with a queue; returns the events it put."""
    module = runpy.run_path(SOURCE)
    queue = asyncio.Queue()

    async def bounded():
        task = asyncio.ensure_future(module["main"](queue, args))
        await asyncio.sleep(seconds)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass

    asyncio.run(bounded())
    events = []
    while not queue.empty():
        events.append(queue.get_nowait())
    return events


def test_the_source_survives_server_errors_and_emits_each_package_once(emu, tmp_path, caplog):
    made = emu.control("POST", "packages", {"appId": GIT_APP, "count": 3, "branch": "main"})["ids"]
    args = {"app_ids": [GIT_APP], "base_url": emu.url, "token": ADMIN, "interval": 0.2, "max_backoff": 0.5,
            "state_file": str(tmp_path / "state.json"), "emit_existing": True, "request_timeout": 1}
    emu.control("POST", "faults", {"rate": 1, "kinds": ["503", "reset", "slow"], "slow_seconds": 3, "count": 4,
                                   "seed": 7, "path": "/packages$"})
    events = run_source(args, 10)
    assert [e["package"]["id"] for e in events] == made  # oldest first, each once, after four failed polls
    assert events[0]["package"]["branch"] == "main" and events[0]["type"] == "mendix.private_cloud.package_created"
    assert {"503", "slow"} <= set(r["fault"] for r in emu.requests() if r.get("fault"))  # server errors and timeouts
    assert len([r for r in emu.requests() if r.get("fault")]) == 4
    assert len([r for r in caplog.records if "failed in a row" in r.getMessage()]) == 4
    emu.control("POST", "faults", {"rate": 0})
    assert run_source(args, 1.5) == []  # the state file remembers all three
    newer = emu.control("POST", "packages", {"appId": GIT_APP, "count": 1, "branch": "main"})["last"]
    assert [e["package"]["id"] for e in run_source(args, 1.5)] == [newer]


def test_the_source_refuses_bad_arguments_and_a_refused_token(emu, tmp_path):
    module = runpy.run_path(SOURCE)
    with pytest.raises(module["SourceError"]) as bad:
        asyncio.run(module["main"](asyncio.Queue(), {"interval": 0}))
    assert "app_ids is required" in str(bad.value) and "interval must be" in str(bad.value)
    with pytest.raises(module["SourceError"]) as refused:
        asyncio.run(module["main"](asyncio.Queue(), {"app_ids": [GIT_APP], "base_url": emu.url, "token": "not-a-token",
                                                     "state_file": str(tmp_path / "s.json")}))
    assert "HTTP 403" in str(refused.value) and "not-a-token" not in str(refused.value)


def source_args(emu, tmp_path, **extra):
    return dict({"app_ids": [GIT_APP], "base_url": emu.url, "token": ADMIN, "interval": 0.2, "max_backoff": 0.4,
                 "state_file": str(tmp_path / "state.json"), "request_timeout": 2}, **extra)


def test_an_empty_or_shifted_listing_never_re_emits(emu, tmp_path):
    made = emu.control("POST", "packages", {"appId": GIT_APP, "count": 30, "branch": "main"})["ids"]
    args = source_args(emu, tmp_path)
    assert run_source(args, 1.5) == []  # first start: from now on
    emu.control("POST", "faults", {"rate": 1, "kinds": ["empty_list"], "count": 1, "path": "/packages$"})
    assert run_source(args, 1.5) == []  # one empty 200 answer, then the whole list again
    assert [r["fault"] for r in emu.requests() if r.get("fault")] == ["empty_list"]
    emu.control("POST", "faults", {"rate": 1, "kinds": ["shifted_list"], "count": 1, "path": "/packages$"})
    assert run_source(args, 1.5) == []  # a page without its first item, then the whole list again
    emu.control("POST", "faults", {"rate": 0})
    newer = emu.control("POST", "packages", {"appId": GIT_APP, "count": 1, "branch": "main"})["last"]
    assert [e["package"]["id"] for e in run_source(args, 1.5)] == [newer] and newer not in made


def test_a_package_created_while_the_source_was_stopped_is_emitted_after_its_restart(emu, tmp_path):
    emu.control("POST", "packages", {"appId": GIT_APP, "count": 3, "branch": "main"})
    args = source_args(emu, tmp_path)
    assert run_source(args, 1) == []
    meanwhile = emu.control("POST", "packages", {"appId": GIT_APP, "count": 2, "branch": "main"})["ids"]
    assert [e["package"]["id"] for e in run_source(args, 1.5)] == meanwhile  # oldest first
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["version"] == 2 and set(meanwhile) <= set(state["apps"][GIT_APP]["recent"])


def test_one_unknown_app_does_not_stop_the_others(emu, tmp_path, caplog):
    unknown = "0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5"
    args = source_args(emu, tmp_path, app_ids=[unknown, GIT_APP], emit_existing=True)
    made = emu.control("POST", "packages", {"appId": GIT_APP, "count": 2, "branch": "main"})["ids"]
    events = run_source(args, 2.5)
    assert [e["package"]["id"] for e in events] == made
    unknown_polls = [r for r in emu.requests() if r["path"].endswith(f"/apps/{unknown}/packages")]
    assert len(unknown_polls) >= 2 and all(r["status"] == 404 for r in unknown_polls)  # tried again, with backoff
    warned = [r.getMessage() for r in caplog.records if unknown in r.getMessage()]
    assert warned and "HTTP 404" in warned[0]


def test_the_branches_filter(emu, tmp_path):
    args = source_args(emu, tmp_path, branches=["main"])
    assert run_source(args, 1) == []
    emu.control("POST", "packages", {"appId": GIT_APP, "count": 1, "branch": "feature-x"})
    main = emu.control("POST", "packages", {"appId": GIT_APP, "count": 1, "branch": "main"})["last"]
    events = run_source(args, 1.5)
    assert [(e["package"]["id"], e["package"]["branch"]) for e in events] == [(main, "main")]
    assert run_source(dict(args, branches=None), 1) == []  # the feature package was recorded, not emitted later
