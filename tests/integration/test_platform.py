"""Clusters and namespaces as code: mx_cluster, mx_namespace and their info modules against the emulator."""

import hashlib
import json
import uuid

from harness import NAMESPACE, run_playbook, write_requests
from mxpc_emulator.seed import DEMO_CLUSTER_ID as CLUSTER


def cluster_task(emu, tmp_path, cluster_id, check=False, diff=False, **options):
    return run_playbook(emu, "cluster", tmp_path, check=check, diff=diff,
                        vars_=dict(cluster_id=cluster_id, **dict(("opt_" + k, v) for k, v in options.items())))


def api_requests(emu):
    return [(r["method"], r["path"].split("/api/v4", 1)[-1]) for r in emu.requests() if "/api/v4" in r["path"]]


def test_cluster_created_rerun_changed_check_diff_absent(emu, tmp_path):
    cluster_id = str(uuid.uuid4())
    spec = dict(name="edge", cluster_type="eks", description="edge apps", operator_type="global_operator",
                cluster_managers=["ops@example.test"], auto_accept_invite=True)
    emu.control("DELETE", "requests")
    check = cluster_task(emu, tmp_path, cluster_id, check=True, diff=True, **spec)
    assert check.result["changed"] is True and check.result["changes"] == ["created"], check
    assert not write_requests(emu)
    created = cluster_task(emu, tmp_path, cluster_id, **spec)
    assert created.result["changed"] is True and not created.result.get("failed"), created
    cluster = created.result["cluster"]
    assert (cluster["name"], cluster["operator_type"]) == ("edge", "global_operator")
    assert [(m["email"], m["status"]) for m in cluster["cluster_managers"]] == [("ops@example.test", "Accepted")]
    emu.control("DELETE", "requests")
    again = cluster_task(emu, tmp_path, cluster_id, **spec)
    assert again.result["changed"] is False, again
    assert api_requests(emu) == [("GET", f"/clusters/{cluster_id}")]
    renamed = cluster_task(emu, tmp_path, cluster_id, diff=True, **{**spec, "name": "edge-2"})
    assert renamed.result["changed"] is True and renamed.result["changes"] == ["name"], renamed
    assert renamed.result["diff"]["after"]["name"] == "edge-2" and renamed.result["diff"]["before"]["name"] == "edge"
    emu.control("DELETE", "requests")
    refused = cluster_task(emu, tmp_path, cluster_id, **{**spec, "name": "edge-2", "operator_type": "standard_operator"})
    assert refused.result["failed"] is True and "operator_type cannot change" in refused.result["msg"], refused
    assert not write_requests(emu)
    gone = cluster_task(emu, tmp_path, cluster_id, state="absent")
    assert gone.result["changed"] is True and gone.result["changes"] == ["deleted"], gone
    again = cluster_task(emu, tmp_path, cluster_id, state="absent")
    assert again.result["changed"] is False


SECRET = "bmFtZXNwYWNlLXNlY3JldC0xOTQ3"


def namespace_task(emu, tmp_path, namespace_id, cluster_id=CLUSTER, check=False, diff=False, verbosity=0, **options):
    """Run playbooks/namespace.yml; the secret goes in a vars file, as from a vault, not on the command line."""
    extra = ()
    if "secret" in options:
        path = tmp_path / f"secret-{len(list(tmp_path.iterdir()))}.json"
        path.write_text(json.dumps({"opt_secret": options.pop("secret")}))
        extra = ("-e", f"@{path}")
    return run_playbook(emu, "namespace", tmp_path, check=check, diff=diff, verbosity=verbosity, extra_args=extra,
                        vars_=dict(cluster_id=cluster_id, namespace_id=namespace_id,
                                   **dict(("opt_" + k, v) for k, v in options.items())))


def stored_secret(emu, namespace_id):
    return {n["namespaceId"]: n["secret"] for n in emu.control("GET", "namespaces")}.get(namespace_id)


def test_namespace_created_configured_rerun_check_diff_absent(emu, tmp_path):
    namespace_id = str(uuid.uuid4())
    settings = dict(name="edge-apps", development_mode=True, plans=[{"name": "ephemeral", "activate": True}],
                    members=[{"email": "dev@example.test", "role": "Developer"}], auto_accept_invite=True,
                    operational_links={"logs": "https://logs.example.test"})
    emu.control("DELETE", "requests")
    check = namespace_task(emu, tmp_path, namespace_id, check=True, secret=SECRET, **settings)
    assert check.result["changed"] is True and check.result["changes"] == ["created"] and not write_requests(emu), check
    created = namespace_task(emu, tmp_path, namespace_id, diff=True, verbosity=4, secret=SECRET, **settings)
    assert created.result["changed"] is True and not created.result.get("failed"), created
    assert SECRET not in created.stdout + created.stderr and "secret" not in created.result["namespace"]
    assert stored_secret(emu, namespace_id) == hashlib.sha256(SECRET.encode()).hexdigest()
    ns = created.result["namespace"]
    assert ns["enable_development_mode"] is True and ns["operational_links"] == {"logs_url": "https://logs.example.test"}
    assert [(p["plan_name"], p["activate"]) for p in ns["plans"]] == [("ephemeral", True), ("minio", False)]
    assert [(m["email"], m["role"], m["status"]) for m in ns["membership"]] == [
        ("creator@example.test", "Administrator", "Accepted"), ("dev@example.test", "Developer", "Accepted")]
    emu.control("DELETE", "requests")
    again = namespace_task(emu, tmp_path, namespace_id, secret=SECRET, **settings)
    assert again.result["changed"] is False, again
    assert api_requests(emu) == [("GET", f"/clusters/{CLUSTER}/namespaces/{namespace_id}")]
    emu.control("DELETE", "requests")
    preview = namespace_task(emu, tmp_path, namespace_id, check=True, diff=True, **{**settings, "development_mode": False})
    assert preview.result["changes"] == ["development_mode"] and not write_requests(emu), preview
    assert preview.result["diff"]["after"]["development_mode"] is False
    exclusive = namespace_task(emu, tmp_path, namespace_id, members_exclusive=True, **settings)
    assert exclusive.result["changes"] == ["members"], exclusive
    assert [m["email"] for m in exclusive.result["namespace"]["membership"]] == ["dev@example.test"]
    assert stored_secret(emu, namespace_id) == hashlib.sha256(SECRET.encode()).hexdigest()  # the update kept it
    rotated = namespace_task(emu, tmp_path, namespace_id, secret="cm90YXRlZA==", update_secret="always", verbosity=4, **settings)
    assert rotated.result["changes"] == ["secret"] and "cm90YXRlZA==" not in rotated.stdout + rotated.stderr, rotated
    assert stored_secret(emu, namespace_id) == hashlib.sha256(b"cm90YXRlZA==").hexdigest()
    gone = namespace_task(emu, tmp_path, namespace_id, state="absent")
    assert gone.result["changed"] is True and gone.result["changes"] == ["deleted"], gone
    assert namespace_task(emu, tmp_path, namespace_id, state="absent").result["changed"] is False


def run_cases(emu, tmp_path, playbook, cases):
    """Each case (a dict of options) is a module run of its own: an item of one looped task, in one ansible-playbook
    start; the cases go in a vars file, as from a vault (a case may hold a secret). The results, in the cases' order."""
    path = tmp_path / f"cases-{len(list(tmp_path.iterdir()))}.json"
    path.write_text(json.dumps({"cases": cases}))
    run = run_playbook(emu, playbook, tmp_path, extra_args=("-e", f"@{path}"))
    assert run.rc == 0 and len(run.result) == len(cases), run
    return run.result


def test_namespace_bad_input_is_refused_before_any_write(emu, tmp_path):
    namespace_id = str(uuid.uuid4())
    new = dict(cluster_id=CLUSTER, namespace_id=namespace_id)
    seeded = dict(cluster_id=CLUSTER, namespace_id=NAMESPACE)
    cases = [
        (dict(new, name="x"), "secret is required to create"),
        (dict(new, name="x", update_secret="always"), "update_secret=always needs secret"),
        (dict(new, name="x", members=[{"email": "nobody"}]), "is not an e-mail address"),
        (dict(new, name="x", operational_links={"logs": "ftp://x"}), "operational_links.logs must be an http(s) URL"),
        (dict(new), "state is present but all of the following are missing: name"),
        (dict(seeded, name="demo-namespace", plans=[{"name": "nope", "activate": True}]),
         "has no plan named nope; it has ephemeral, minio"),
        (dict(seeded, name="demo-namespace", installation_type="Standalone"), "installation_type cannot change"),
        (dict(seeded, state="absent"), "gitdemo"),
        (dict(new, cluster_id=str(uuid.uuid4()), name="x", secret=SECRET), "is not found or not visible"),
    ]
    emu.control("DELETE", "requests")
    results = run_cases(emu, tmp_path, "namespace_cases", [options for options, dummy in cases])
    for (options, message), result in zip(cases, results):
        assert result["failed"] is True and message in result["msg"], (options, result["msg"])
    assert "svndemo" in results[7]["msg"]  # absent names every environment that is still there
    assert not write_requests(emu)


def test_info_modules_list_every_page_and_find_one(emu, tmp_path):
    emu.control("POST", "settings", {"max_page_size": 1})  # every list takes several pages
    for _extra in range(2):
        finished_cluster = cluster_task(emu, tmp_path, str(uuid.uuid4()), name="extra", cluster_type="k8s")
        assert finished_cluster.result["changed"] is True, finished_cluster
    emu.control("DELETE", "requests")
    run = run_playbook(emu, "platform_info", tmp_path, cluster_id=CLUSTER, missing_id=str(uuid.uuid4()),
                       namespace_name="demo-namespace")
    assert run.rc == 0, run
    r = run.result
    assert len(r["every_cluster"]["clusters"]) == 3 and r["every_cluster"]["changed"] is False
    assert [c["cluster_id"] for c in r["one_cluster"]["clusters"]] == [CLUSTER]
    assert r["no_cluster"]["clusters"] == []
    (namespace,) = r["namespaces"]["namespaces"]
    assert namespace["namespace_id"] == NAMESPACE and "secret" not in namespace
    assert sorted(e["environment_id"] for e in namespace["environments"]) == ["gitdemo", "svndemo"]
    assert [n["name"] for n in r["by_name"]["namespaces"]] == ["demo-namespace"]
    assert "environments" not in r["by_name"]["namespaces"][0]
    assert sorted(a["app_name"] for a in r["apps"]["apps"]) == ["demo-git-app", "demo-svn-app"]
    assert [a["app_name"] for a in r["one_app"]["apps"]] == ["demo-svn-app"]
    newest = r["cli"]["versions"][0]
    assert newest["operating_systems"] == ["windows", "linux", "macos"] and newest["architectures"] == ["x86", "arm"]
    assert not write_requests(emu)
    pages = [r for r in api_requests(emu) if r == ("GET", "/clusters")]
    assert len(pages) == 4  # three clusters a page, then the empty page that ends the list


def test_cli_download_is_idempotent_replaces_another_version_and_never_sends_the_token(emu, tmp_path):
    dest = tmp_path / "bin"
    dest.mkdir()
    emu.control("DELETE", "requests")
    check = run_playbook(emu, "cli_download", tmp_path, dest=str(dest), check=True)
    assert check.result["changed"] is True and not (dest / "mxpc-cli").exists(), check
    first = run_playbook(emu, "cli_download", tmp_path, dest=str(dest))
    assert first.result["changed"] is True and not first.result.get("failed"), first
    path = dest / "mxpc-cli"
    newest = first.result["version"]
    assert f"mxpc-cli version {newest}".encode() in path.read_bytes() and oct(path.stat().st_mode & 0o777) == "0o755"
    files = [r for r in emu.requests() if r["path"].startswith("/_cdn/")]
    assert len(files) == 1 and files[0]["token"] is None and files[0]["authorization"] is False
    emu.control("DELETE", "requests")
    again = run_playbook(emu, "cli_download", tmp_path, dest=str(dest))
    assert again.result["changed"] is False, again
    assert [r for r in emu.requests() if r["path"].startswith("/_cdn/") or r["method"] == "POST"] == []
    older = run_playbook(emu, "cli_download", tmp_path, dest=str(dest), cli_version="2.20.0")
    assert older.result["changed"] is True and b"mxpc-cli version 2.20.0" in path.read_bytes(), older
    path.write_bytes(b"#!/bin/sh\necho tampered\n")
    tampered = run_playbook(emu, "cli_download", tmp_path, dest=str(dest), cli_version="2.20.0")
    assert tampered.result["changed"] is True and b"mxpc-cli version 2.20.0" in path.read_bytes()
    refused = run_playbook(emu, "cli_download", tmp_path, dest=str(dest), cli_version="2.20.0", cli_architecture="arm")
    assert refused.result["failed"] is True and "architecture" in refused.result["msg"], refused
    assert b"mxpc-cli version 2.20.0" in path.read_bytes()  # the file in place is kept


def test_cluster_cli_and_info_bad_input_is_refused_before_any_call(emu, tmp_path):
    """Values are checked before any call: a malformed ID, a missing name, a manager that is no address or listed
    twice, a malformed version, a destination folder that does not exist."""
    emu.control("DELETE", "requests")
    cases = [
        (dict(cluster_id="not-a-uuid", name="x", cluster_type="k8s"), "cluster_id must be a UUID"),
        (dict(cluster_id=str(uuid.uuid4()), cluster_type="k8s"), "state is present but all of the following are missing: name"),
        (dict(cluster_id=str(uuid.uuid4()), name="x", cluster_type="k8s", cluster_managers=["nobody"]),
         "cluster_managers: 'nobody' is not an e-mail address"),
        (dict(cluster_id=str(uuid.uuid4()), name="x", cluster_type="k8s", cluster_managers=["a@x.test", "A@x.test"]),
         "cluster_managers lists an address twice"),
        (dict(cluster_id=str(uuid.uuid4()), name="x", cluster_type="gke"), "value of cluster_type must be one of"),
    ]
    for (options, message), result in zip(cases, run_cases(emu, tmp_path, "cluster_cases", [o for o, dummy in cases])):
        assert result["failed"] is True and message in result["msg"], (options, result["msg"])
    bad_version = run_playbook(emu, "cli_download", tmp_path, dest=str(tmp_path), cli_version="2.21")
    assert "version must be in x.y.z format" in bad_version.result["msg"], bad_version
    no_folder = run_playbook(emu, "cli_download", tmp_path, dest=str(tmp_path / "nope" / "mxpc-cli"))
    assert "does not exist; create it first" in no_folder.result["msg"], no_folder
    assert api_requests(emu) == []  # not even a read
