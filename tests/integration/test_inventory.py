"""The inventory plugin mendix.private_cloud.environments: ansible-inventory and ansible-playbook against an emulator
seeded with four apps (two of the same name), three namespaces on two clusters and seven environments, one production.
"""

import copy
import json
import os
import re
import subprocess
import urllib.request

import pytest
import yaml

from harness import ADMIN, FAST, GIT_APP, HERE, NAMESPACE, READONLY, SVN_APP, TOKENS, repository_url, run_playbook
from mxpc_emulator import seed as seedmod
from mxpc_emulator.testing import EmulatorProcess

ROOT = os.path.dirname(os.path.dirname(HERE))
EXAMPLES = os.path.join(ROOT, "docs", "examples", "inventory")
ORDERS_1 = "0e1d2c3b-4a59-4687-9a1b-2c3d4e5f6071"
ORDERS_2 = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
PROD_CLUSTER = "5b2c8e71-3d4f-4a6b-9c8d-7e6f5a4b3c2d"
CERT_KEY = "UEZYLWtleS1vZi10aGUtY2xpZW50LWNlcnQ="
CERT_PASSWORD = "pfx-password-never-shown-5b7e"
HOSTS = {
    # host name: (app, namespace, environment, purpose, production)
    "demo-git-app-gitdemo": (GIT_APP, NAMESPACE, "gitdemo", "Test", False),
    "demo-git-app-acc": (GIT_APP, NAMESPACE, "acc", "Acceptance", False),
    "demo-git-app-prod": (GIT_APP, "prod-ns", "prod", "Production", True),
    "demo-svn-app-svndemo": (SVN_APP, NAMESPACE, "svndemo", "Test", False),
    "orders-o-acc": (ORDERS_1, "team-ns", "o-acc", "Acceptance", False),
    "orders-o-test": (ORDERS_1, "team-ns", "o-test", "Test", False),
    "orders-o-acc_2": (ORDERS_2, "other-ns", "o-acc", "Acceptance", False),
}


def fleet_seed():
    data = copy.deepcopy(seedmod.DEMO_SEED)
    git, svn = data["apps"]
    git["namespaces"][0]["environments"].append({"id": "acc", "name": "Acceptance", "purpose": "Acceptance"})
    git["namespaces"].append({"id": "prod-ns", "cluster_id": PROD_CLUSTER, "name": "production",
                              "environments": [{"id": "prod", "name": "Production", "purpose": "Production",
                                                "instances": 2}]})
    assert svn["id"] == SVN_APP
    data["apps"] += [
        {"id": ORDERS_1, "name": "orders", "namespaces": [{"id": "team-ns", "name": "team", "environments": [
            {"id": "o-acc", "purpose": "Acceptance"}, {"id": "o-test", "purpose": "Test", "instances": 0}]}]},
        {"id": ORDERS_2, "name": "orders", "namespaces": [{"id": "other-ns", "name": "other", "environments": [
            {"id": "o-acc", "purpose": "Acceptance"}]}]},
    ]
    return data


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    path = tmp_path_factory.mktemp("seed") / "fleet.yml"
    path.write_text(yaml.safe_dump(fleet_seed()))
    with EmulatorProcess(args=FAST + ["--seed", str(path)]) as emu:
        yield emu


@pytest.fixture
def emu(fleet):
    fleet.control("POST", "reset")
    return fleet


def run_env(emu, token=ADMIN, **extra):
    env = dict(os.environ, MENDIX_PRIVATE_CLOUD_URL=emu.url, MENDIX_REPOSITORY_URL=repository_url(emu),
               ANSIBLE_NOCOLOR="1", ANSIBLE_INVENTORY_UNPARSED_FAILED="1", COLUMNS="10000")  # no wrapped warnings
    env.pop("MENDIX_PAT", None)
    if token:
        env["MENDIX_PAT"] = token
    env.update(extra)
    return env


def inventory(emu, tmp_path, config, *args, token=ADMIN, name="fleet.mendix.yml", **env):
    """ansible-inventory over a config file written into tmp_path; (proc, stdout + stderr)."""
    source = tmp_path / name
    source.write_text(yaml.safe_dump(config) if isinstance(config, dict) else config)
    proc = subprocess.run(["ansible-inventory", "-i", str(source), *args], capture_output=True, text=True,
                          env=run_env(emu, token, **env), timeout=300, check=False, cwd=str(tmp_path))
    return proc, proc.stdout + proc.stderr


def plain(value):
    """The JSON of --output without the marks of values not to be templated ({"__ansible_unsafe": "..."})."""
    if isinstance(value, dict):
        return value["__ansible_unsafe"] if set(value) == {"__ansible_unsafe"} else {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def listed(emu, tmp_path, config, *args, **kwargs):
    out = tmp_path / "list.json"
    proc, text = inventory(emu, tmp_path, config, "--list", "--output", str(out), *args, **kwargs)
    assert proc.returncode == 0, text[-4000:]
    return plain(json.loads(out.read_text())), text + out.read_text()


def api_requests(emu):
    return [r for r in emu.requests() if not r["path"].startswith("/_")]


def put_certificate(emu):
    """Another tool gives prod a client certificate: the API shows its key and password; the inventory must not."""
    path = f"/apps/{GIT_APP}/namespaces/prod-ns/environments/prod"
    headers = {"Authorization": f"MxToken {ADMIN}", "Content-Type": "application/json"}
    with urllib.request.urlopen(urllib.request.Request(emu.url + path, headers=headers), timeout=30) as resp:
        manifest = json.loads(resp.read())
    manifest["environment"]["network"] = {"outgoingConnectionCertificate": [
        {"enabled": True, "certificateType": "Client", "key": CERT_KEY, "password": CERT_PASSWORD}]}
    request = urllib.request.Request(emu.url + path, method="PUT", data=json.dumps(manifest).encode(), headers=headers)
    with urllib.request.urlopen(request, timeout=30):
        pass
    emu.control("POST", "jobs/finish")


def test_every_environment_is_a_host_with_its_variables_and_groups(emu, tmp_path):
    put_certificate(emu)
    emu.control("DELETE", "requests")
    data, text = listed(emu, tmp_path, {"plugin": "mendix.private_cloud.environments"}, "-vvvv")
    hostvars = data["_meta"]["hostvars"]
    assert sorted(hostvars) == sorted(HOSTS), sorted(hostvars)
    for host, (app, namespace, env_id, purpose, production) in HOSTS.items():
        found = hostvars[host]
        assert (found["mendix_app_id"], found["mendix_namespace_id"], found["mendix_environment_id"],
                found["mendix_purpose"], found["mendix_production"]) == (app, namespace, env_id, purpose, production)
        assert found["ansible_connection"] == "local"
        assert found["ansible_python_interpreter"] == "{{ ansible_playbook_python }}"
        assert found["mendix_manifest"]["id"] == env_id and "core_resources" in found["mendix_manifest"]["container"]
    prod = hostvars["demo-git-app-prod"]
    assert prod["mendix_cluster_id"] == PROD_CLUSTER and prod["mendix_namespace"] == "production"
    assert prod["mendix_instances"] == 2 and prod["mendix_state"] == "Ready" and prod["mendix_package_id"] is None
    assert prod["mendix_environment_name"] == "Production" and prod["mendix_app_url"] == "https://prod.apps.example.test"
    assert hostvars["orders-o-test"]["mendix_instances"] == 0
    # write-only material is filtered as in the modules' results; the token appears nowhere, at -vvvv
    assert prod["mendix_manifest"]["network"]["outgoing_connection_certificate"] == [
        {"enabled": True, "certificate_type": "Client"}]
    leaked = [name for name, value in dict(TOKENS, key=CERT_KEY, password=CERT_PASSWORD).items() if value in text]
    assert not leaked, leaked
    members = {group: sorted(body.get("hosts", [])) for group, body in data.items() if group != "_meta"}
    assert members["mendix_production"] == ["demo-git-app-prod"]
    assert members["mendix_purpose_acceptance"] == ["demo-git-app-acc", "orders-o-acc", "orders-o-acc_2"]
    assert members["mendix_purpose_test"] == ["demo-git-app-gitdemo", "demo-svn-app-svndemo", "orders-o-test"]
    assert members["mendix_app_orders"] == ["orders-o-acc", "orders-o-acc_2", "orders-o-test"]
    assert members["mendix_namespace_team"] == ["orders-o-acc", "orders-o-test"]
    assert members[f"mendix_cluster_{PROD_CLUSTER.replace('-', '_')}"] == ["demo-git-app-prod"]
    assert members["mendix_state_ready"] == sorted(HOSTS) and len(members["mendix_non_production"]) == 6
    assert sorted(members["mendix_environments"]) == sorted(HOSTS)
    # /apps once (and the empty page after it), then each app's environments: reads only, the token's name on each
    seen = api_requests(emu)
    assert {r["method"] for r in seen} == {"GET"} and {r["token"] for r in seen} == {"admin"}
    assert [r["path"] for r in seen].count("/api/v4/apps") == 2
    each_app = {f"/api/v4/apps/{a}/environments" for a in (GIT_APP, SVN_APP, ORDERS_1, ORDERS_2)}
    assert {r["path"] for r in seen} - {"/api/v4/apps"} == each_app
    proc, graph = inventory(emu, tmp_path, {"plugin": "mendix.private_cloud.environments"}, "--graph",
                            "mendix_purpose_acceptance")
    assert proc.returncode == 0 and re.findall(r"\|--(\S+)", graph) == [
        "demo-git-app-acc", "orders-o-acc", "orders-o-acc_2"], graph


def test_apps_filters_names_and_constructed_groups(emu, tmp_path):
    config = {"plugin": "mendix.private_cloud.environments", "apps": ["orders", GIT_APP.upper()],
              "filters": {"purpose": ["acceptance", "PRODUCTION"], "production": False},
              "hostname_template": "mendix_environment_id ~ '.' ~ mendix_app_name ~ ' (' ~ mendix_namespace ~ ')'",
              "compose": {"mendix_stopped": "mendix_instances == 0", "label": "mendix_app_name | upper"},
              "groups": {"mendix_two": "mendix_instances >= 1"},
              "keyed_groups": [{"key": "mendix_manifest.runtime.runtime_version", "prefix": "runtime"}]}
    data, dummy = listed(emu, tmp_path, config)
    hostvars = data["_meta"]["hostvars"]
    assert sorted(hostvars) == ["acc.demo-git-app__demo-namespace", "o-acc.orders__other", "o-acc.orders__team"]
    assert {h: v["label"] for h, v in hostvars.items()}["o-acc.orders__team"] == "ORDERS"
    assert not any(v["mendix_stopped"] for v in hostvars.values())
    assert sorted(data["mendix_two"]["hosts"]) == sorted(hostvars)
    assert data["runtime_10_18_1_51001"]["hosts"]  # the default runtime of the seed's apps
    # an app named twice by the filter on state, and the production flag given as text
    data, dummy = listed(emu, tmp_path, {"plugin": "mendix.private_cloud.environments", "apps": [SVN_APP],
                                         "filters": {"state": "ready", "production": "no"}})
    assert sorted(data["_meta"]["hostvars"]) == ["demo-svn-app-svndemo"]


def test_a_cached_inventory_sends_no_request_and_holds_no_secret(emu, tmp_path):
    put_certificate(emu)
    cache = tmp_path / "cache"
    config = {"plugin": "mendix.private_cloud.environments", "cache": True, "cache_plugin": "ansible.builtin.jsonfile",
              "cache_connection": str(cache), "cache_timeout": 600}
    emu.control("DELETE", "requests")
    first, dummy = listed(emu, tmp_path, config)
    assert len(api_requests(emu)) == 10  # /apps and each app's environments, each to its empty page
    emu.control("DELETE", "requests")
    second, dummy = listed(emu, tmp_path, config)
    assert api_requests(emu) == [] and second == first
    stored = "".join(p.read_text() for p in cache.iterdir())
    assert "o-acc" in stored and CERT_KEY not in stored and CERT_PASSWORD not in stored and ADMIN not in stored
    # a change of apps is not answered from a cache read for other apps; --flush-cache reads again
    narrowed, dummy = listed(emu, tmp_path, dict(config, apps=["orders"]))
    assert sorted(narrowed["_meta"]["hostvars"]) == ["orders-o-acc", "orders-o-acc_2", "orders-o-test"]
    emu.control("DELETE", "requests")
    play = tmp_path / "noop.yml"  # ansible-inventory before 2.17 has no --flush-cache; ansible-playbook has
    play.write_text(yaml.safe_dump([{"name": "Nothing", "hosts": "mendix_environments", "gather_facts": False,
                                     "tasks": []}]))
    (tmp_path / "fleet.mendix.yml").write_text(yaml.safe_dump(config))
    proc = subprocess.run(["ansible-playbook", "-i", str(tmp_path / "fleet.mendix.yml"), str(play), "--flush-cache"],
                          capture_output=True, text=True, env=run_env(emu), timeout=300, check=False)
    assert proc.returncode == 0 and len(api_requests(emu)) == 10, proc.stdout[-2000:] + proc.stderr[-2000:]


@pytest.mark.parametrize("config, token, message, reads", [
    ({"plugin": "mendix.private_cloud.environments", "filter": {"purpose": "Test"}}, ADMIN,
     "does not know the option filter (did you mean filters?)", False),
    ({"plugin": "mendix.private_cloud.environments", "filters": {"purpse": "Test"}}, ADMIN,
     "filters.purpse is not a filter (did you mean purpose?)", False),
    ({"plugin": "mendix.private_cloud.environments", "concurrency": 0}, ADMIN, "concurrency must be 1 to 32, got 0", False),
    ({"plugin": "mendix.private_cloud.environments"}, None, "token is required: set MENDIX_PAT", False),
    ({"plugin": "mendix.private_cloud.environments", "apps": ["invoices", ORDERS_1]}, ADMIN,
     "apps: invoices not among the apps the token can see (demo-git-app, demo-svn-app, orders, orders)", True),
    ({"plugin": "mendix.private_cloud.environments"}, "not-a-token-8f2e", "token", True),
], ids=["unknown-option", "unknown-filter", "concurrency", "no-token", "unknown-app", "refused-token"])
def test_bad_configuration_fails_the_source_naming_the_fix(emu, tmp_path, config, token, message, reads):
    emu.control("DELETE", "requests")
    proc, text = inventory(emu, tmp_path, config, "--list", token=token)
    # ansible-core before 2.19 wraps warnings at 80 columns, also after a hyphen
    flat = " ".join(re.sub(r"-\n\s*", "-", text).split())
    assert proc.returncode != 0 and message in flat, text[-3000:]
    assert bool(api_requests(emu)) is reads
    assert "not-a-token-8f2e" not in text


def test_a_play_over_an_inventory_group_changes_once(emu, tmp_path):
    source = os.path.join(EXAMPLES, "environments.mendix.yml")
    cache_env = {"ANSIBLE_CACHE_PLUGIN_CONNECTION": str(tmp_path / "cache")}
    config = yaml.safe_load(open(source, encoding="utf-8"))
    config["cache_connection"] = str(tmp_path / "cache")
    local = tmp_path / "environments.mendix.yml"
    local.write_text(yaml.safe_dump(config))
    emu.control("DELETE", "requests")
    runs = [run_playbook(emu, "stop_test", tmp_path, inventory=str(local), playbook_dir=EXAMPLES, env=cache_env)
            for dummy in range(2)]
    assert all(r.rc == 0 for r in runs), runs
    first, second = (re.findall(r"^(\S+)\s*: ok=\d+\s+changed=(\d+)", r.stdout, re.M) for r in runs)
    # every running test environment stopped once (o-test was stopped already), production and acceptance untouched
    assert sorted(first) == [("demo-git-app-gitdemo", "1"), ("demo-svn-app-svndemo", "1"), ("orders-o-test", "0")], first
    assert sorted(second) == [("demo-git-app-gitdemo", "0"), ("demo-svn-app-svndemo", "0"), ("orders-o-test", "0")]
    writes = [r for r in emu.requests() if r["method"] != "GET"]
    assert len(writes) == 2 and all("/environments/" in r["path"] for r in writes), writes
    envs = {(e["appId"], e["environmentId"]): e for e in emu.control("GET", "environments")}
    assert envs[(GIT_APP, "gitdemo")]["instances"] == 0 and envs[(GIT_APP, "prod")]["instances"] == 2
    # a report over production needs no module and no request beyond the inventory's (here: the cache's)
    emu.control("DELETE", "requests")
    report = run_playbook(emu, "report", tmp_path, inventory=str(local), playbook_dir=EXAMPLES, env=cache_env)
    assert report.rc == 0 and "demo-git-app prod: nothing (Ready, 2 instances)" in report.stdout, report
    assert api_requests(emu) == []


def test_restart_every_acceptance_environment_one_at_a_time(emu, tmp_path):
    config = yaml.safe_load(open(os.path.join(EXAMPLES, "environments.mendix.yml"), encoding="utf-8"))
    config["cache"] = False
    local = tmp_path / "environments.mendix.yml"
    local.write_text(yaml.safe_dump(config))
    emu.control("DELETE", "requests")
    run = run_playbook(emu, "restart_acceptance", tmp_path, inventory=str(local), playbook_dir=EXAMPLES)
    assert run.rc == 0, run
    assert sorted(re.findall(r"^(\S+)\s*: ok=1\s+changed=1", run.stdout, re.M)) == [
        "demo-git-app-acc", "orders-o-acc", "orders-o-acc_2"], run.stdout[-2000:]
    # serial: 1 - each environment's writes (stop, start) end before the next one's begin
    order = [(r["path"].split("/")[4], r["path"].rsplit("/", 1)[1]) for r in emu.requests()
             if r["method"] == "PUT"]
    assert len(order) == 6 and order == sorted(order, key=order.index) and len(
        [i for i in range(1, 6) if order[i] != order[i - 1]]) == 2, order


def test_the_role_runs_over_inventory_hosts(emu, tmp_path):
    """build_and_deploy over the acceptance environments of demo-git-app: the ids from the inventory's variables."""
    config = {"plugin": "mendix.private_cloud.environments", "apps": [GIT_APP]}
    local = tmp_path / "git.mendix.yml"
    local.write_text(yaml.safe_dump(config))
    runs = [run_playbook(emu, "role_over_inventory", tmp_path, inventory=str(local)) for dummy in range(2)]
    assert all(r.rc == 0 for r in runs), runs
    assert re.search(r"^demo-git-app-acc\s*: ok=\d+\s+changed=[1-9]", runs[0].stdout, re.M), runs[0].stdout[-3000:]
    assert re.search(r"^demo-git-app-acc\s*: ok=\d+\s+changed=0", runs[1].stdout, re.M), runs[1].stdout[-3000:]
    envs = {e["environmentId"]: e for e in emu.control("GET", "environments") if e["appId"] == GIT_APP}
    assert envs["acc"]["packageId"] and not envs["prod"]["packageId"] and not envs["gitdemo"]["packageId"]
    builds = [r for r in emu.requests() if r["method"] == "POST" and r["path"].endswith("/packages/build")]
    assert len(builds) == 1, builds


def test_each_configuration_example_reads_twice_and_the_readonly_token_is_enough(emu, tmp_path):
    text = open(os.path.join(ROOT, "plugins", "inventory", "environments.py"), encoding="utf-8").read()
    examples = re.search(r'EXAMPLES = r"""(.*?)"""', text, re.S).group(1)
    # one file each, as the comments name them: each starts with its comment, then plugin:
    configs = [yaml.safe_load(part) for part in re.split(r"\n(?=# \S+\.mendix\.yml)", examples) if "plugin:" in part]
    assert len(configs) == 1
    for number, config in enumerate(configs):
        if config.get("cache"):
            config["cache_connection"] = str(tmp_path / f"cache-{number}")
        results = [listed(emu, tmp_path, config, token=READONLY)[0] for dummy in range(2)]
        assert results[0] == results[1] and results[0]["_meta"]["hostvars"], config
    assert sorted(results[0]["_meta"]["hostvars"]) == ["acc.demo-git-app"]  # the svn app has no acceptance environment
    assert results[0]["mendix_empty"]["hosts"] == ["acc.demo-git-app"]
    assert not [r for r in emu.requests() if r["method"] != "GET"]


def test_the_plugin_documentation_renders():
    proc = subprocess.run(["ansible-doc", "-t", "inventory", "mendix.private_cloud.environments"], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    for option in ("hostname_template", "filters", "apps", "concurrency", "keyed_groups", "cache_timeout", "MENDIX_PAT"):
        assert option in proc.stdout, option
