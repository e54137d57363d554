"""Environments as code, through real playbooks: mx_environment creates, configures, stops, starts, restarts and
removes environments, idempotently, in check and diff mode, with write-only secrets; mx_environment_info reads them."""

import base64
import hashlib
import json
import urllib.request

from harness import ADMIN, GIT_APP, NAMESPACE, REV1, run_playbook, write_requests
from mxpc_emulator import seed as seedmod

SECRET = "Pa55-word-8c1e-MxAdmin"
BASE = dict(app_id=GIT_APP, namespace_id=NAMESPACE)
NEW = dict(cluster_id=seedmod.DEMO_CLUSTER_ID, namespace="demo-namespace", app_url="https://acc.apps.example.test")


def manifest(emu, env="acc"):
    req = urllib.request.Request(f"{emu.url}/apps/{GIT_APP}/namespaces/{NAMESPACE}/environments/{env}",
                                 headers={"Authorization": f"MxToken {ADMIN}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())["environment"]


def control_state(emu, env="acc"):
    found = [e for e in emu.control("GET", "environments") if e["environmentId"] == env]
    return found[0] if found else None


def env_task(emu, tmp_path, env="acc", check=False, diff=False, verbosity=0, secrets=None, **options):
    """Run playbooks/environment.yml with the options given; secrets go in a vars file, as from a vault, so that they
    are not on the command line that -vvvv shows."""
    extra = ()
    if secrets:
        path = tmp_path / f"secrets-{len(list(tmp_path.iterdir()))}.json"
        path.write_text(json.dumps(dict(("opt_" + k, v) for k, v in secrets.items())))
        extra = ("-e", f"@{path}")
    variables = dict(("opt_" + k, v) for k, v in options.items())
    return run_playbook(emu, "environment", tmp_path, check=check, diff=diff, verbosity=verbosity, extra_args=extra,
                        vars_=dict(BASE, environment_id=env, allow_failure=True, **variables))


def build(emu, tmp_path):
    run = run_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch="main", revision=REV1)
    assert run.rc == 0, run
    return run.result["package_id"]


def env_requests(emu, env="acc"):
    return [(r["method"], r["path"]) for r in emu.requests() if "/environments" in r["path"] and
            (r["path"].endswith(f"/{env}") or r["path"].endswith("/environments"))]


def create(emu, tmp_path, **options):
    pkg = build(emu, tmp_path)
    run = env_task(emu, tmp_path, package_id=pkg, **NEW, **options)
    assert run.result["failed"] is False, run
    return pkg, run


def test_create_in_check_mode_then_for_real_then_again(emu, tmp_path):
    pkg = build(emu, tmp_path)
    options = dict(NEW, package_id=pkg, name="Acceptance", instances=2, constants={"MyFirstModule.MaxUploadMB": 50},
                   scheduled_events={"MyFirstModule.NightlyCleanup": True}, environment_variables={"TZ": "UTC"},
                   secrets=dict(mx_admin_password=SECRET))
    emu.control("DELETE", "requests")
    check = env_task(emu, tmp_path, check=True, diff=True, **options)
    assert check.result["changed"] is True and check.result["created"] is True, check
    assert not write_requests(emu)
    assert "+    \"deployment.constants[MyFirstModule.MaxUploadMB].value\": \"50\"" in check.stdout
    assert SECRET not in check.stdout and "********" in check.stdout

    real = env_task(emu, tmp_path, diff=True, **options)
    assert real.result["changed"] is True and real.result["created"] is True, real
    assert [(r["method"], r["path"]) for r in write_requests(emu) if "/environments" in r["path"]] == [
        ("POST", f"/api/v4/apps/{GIT_APP}/environments")]
    env = real.result["environment"]
    assert env["container"]["state"] == "Ready" and env["container"]["instances"] == 2
    assert env["deployment"]["package_id"] == pkg and env["properties"]["name"] == "Acceptance"
    assert {"name": "MyFirstModule.MaxUploadMB", "value": "50"} in env["deployment"]["constants"]
    assert real.result["secrets_sent"] == ["mxAdminPassword"] and real.result["ready"]["polls"] >= 1
    stored = control_state(emu)
    expected = hashlib.sha256(base64.b64encode(SECRET.encode()).decode().encode()).hexdigest()
    assert stored["secrets"] == {"mxAdminPassword": expected}

    emu.control("DELETE", "requests")
    again = env_task(emu, tmp_path, **options)
    assert again.result["changed"] is False and again.result["changes"] == [], again
    assert env_requests(emu) == [("GET", f"/api/v4/apps/{GIT_APP}/namespaces/{NAMESPACE}/environments/acc")]
    assert not write_requests(emu)


def test_secrets_stay_out_of_the_output_at_vvvv(emu, tmp_path):
    pkg = build(emu, tmp_path)
    run = env_task(emu, tmp_path, verbosity=4, package_id=pkg, **NEW, update_secrets="always",
                   secrets=dict(mx_admin_password=SECRET, debugger_password=SECRET + "-dbg"))
    assert run.rc == 0, run
    text = run.stdout + run.stderr + json.dumps(run.result)
    for value in (SECRET, SECRET + "-dbg", base64.b64encode(SECRET.encode()).decode()):
        assert value not in text
    assert sorted(control_state(emu)["secrets"]) == ["debuggerPassword", "mxAdminPassword"]
    # always: sent on every run, so every run is a change, and the new value is stored
    again = env_task(emu, tmp_path, verbosity=4, update_secrets="always", secrets=dict(mx_admin_password=SECRET + "2"))
    assert again.result["changed"] is True and again.result["secrets_sent"] == ["mxAdminPassword"], again
    assert SECRET + "2" not in again.stdout + again.stderr
    expected = hashlib.sha256(base64.b64encode((SECRET + "2").encode())).hexdigest()
    assert control_state(emu)["secrets"]["mxAdminPassword"] == expected
    # on_create (the default): an existing environment's secrets are left, and the run is ok
    assert env_task(emu, tmp_path, secrets=dict(mx_admin_password="other")).result["changed"] is False
    assert control_state(emu)["secrets"]["mxAdminPassword"] == expected


def test_settings_change_in_one_put_with_an_exact_diff_and_a_quiet_rerun(emu, tmp_path):
    create(emu, tmp_path)
    settings = dict(
        constants={"MyFirstModule.ApiUrl": "https://api.acc.example.test", "MyFirstModule.FeatureLoginPage": True},
        scheduled_events={"MyFirstModule.SendReminders": True},
        environment_variables={"TZ": "Europe/Amsterdam", "LANG": "en_US.UTF-8"},
        custom_runtime_settings={"http.client.CleanupAfterSeconds": 355},
        app_log_levels={"ConnectionBus": "DEBUG"},
        resources={"limits": {"cpu": "2", "memory": "2"}},
        deployment_strategy={"type": "Reduced App Downtime", "max_surge": 25},
        annotations=[{"key": "prometheus.io/port", "value": "8900"}],
        manifest={"environment": {"runtimeMetricsConfiguration": {"mode": "native"}}},
        name="Acceptance (EU)", instances=3,
    )
    emu.control("DELETE", "requests")
    check = env_task(emu, tmp_path, check=True, diff=True, **settings)
    assert check.result["changed"] is True and not write_requests(emu), check
    changes = check.result["changes"]
    assert "deployment.constants[MyFirstModule.ApiUrl].value" in changes
    assert "deployment.constants[MyFirstModule.MaxUploadMB].value" not in changes  # not given: not touched
    assert "container.coreResources.limits.cpu" in changes and "container.coreResources.requests.cpu" not in changes
    run = env_task(emu, tmp_path, diff=True, **settings)
    assert run.result["changed"] is True and sorted(run.result["changes"]) == sorted(changes), run
    assert [r["method"] for r in write_requests(emu)] == ["PUT"]
    # the diff shows the changed fields only
    assert '-    "container.instances": 1,' in run.stdout and '+    "container.instances": 3,' in run.stdout
    assert "MaxUploadMB" not in run.stdout
    env = manifest(emu)
    assert {"name": "MyFirstModule.FeatureLoginPage", "value": "true"} in env["deployment"]["constants"]
    assert {"name": "MyFirstModule.SendReminders", "enabled": True} in env["deployment"]["scheduledEvents"]
    assert env["container"]["coreResources"]["limits"] == {"cpu": "2", "memory": "2"}
    assert env["container"]["coreResources"]["requests"] == {"cpu": "1", "memory": "0.512"}
    assert env["deploymentStrategy"] == {"runtimeDeploymentStrategyType": "Reduced App Downtime", "maxSurge": 25}
    assert env["annotations"] == [{"annotationType": "Pod", "key": "prometheus.io/port", "value": "8900"}]
    assert env["runtimeMetricsConfiguration"]["mode"] == "native" and env["container"]["instances"] == 3
    assert run.result["environment"]["container"]["state"] == "Ready"

    # someone else reorders the environment variables: compared by name, that is no change
    edit = dict(appId=GIT_APP, namespaceId=NAMESPACE, environmentId="acc", afterReads=1,
                set={"runtime.environmentVariables": list(reversed(env["runtime"]["environmentVariables"]))})
    emu.control("POST", "environment-edits", edit)
    manifest(emu)
    assert manifest(emu)["runtime"]["environmentVariables"][0]["name"] == "LANG"
    emu.control("DELETE", "requests")
    again = env_task(emu, tmp_path, diff=True, **settings)
    assert again.result["changed"] is False and not write_requests(emu), again
    # a null removes a variable, leaving the other
    removed = env_task(emu, tmp_path, environment_variables={"LANG": None})
    assert removed.result["changes"] == ["runtime.environmentVariables[LANG].name", "runtime.environmentVariables[LANG].value"]
    assert manifest(emu)["runtime"]["environmentVariables"] == [{"name": "TZ", "value": "Europe/Amsterdam"}]


def test_stop_start_and_restart_keep_the_instance_count(emu, tmp_path):
    create(emu, tmp_path, instances=3)
    stop = env_task(emu, tmp_path, state="stopped")
    assert stop.result["changed"] is True and stop.result["changes"] == ["container.instances"], stop
    box = manifest(emu)["container"]
    assert box["instances"] == 0 and box["lastRunningInstanceCount"] == 3
    assert "ready" not in stop.result  # nothing runs, nothing to wait for
    assert env_task(emu, tmp_path, state="stopped").result["changed"] is False
    start = env_task(emu, tmp_path, state="started")
    assert start.result["changed"] is True and start.result["environment"]["container"]["instances"] == 3, start
    assert start.result["environment"]["container"]["state"] == "Ready"
    assert env_task(emu, tmp_path, state="started").result["changed"] is False

    emu.control("DELETE", "requests")
    restart = env_task(emu, tmp_path, state="restarted", diff=True)
    assert restart.result["changed"] is True and len(restart.result["jobs"]) == 2, restart
    # a restart is named as such, and the diff invents no field for it
    assert restart.result["changes"] == ["restart"] and restart.result["diff"] == {"before": {}, "after": {}}
    bodies = write_requests(emu)
    assert [r["method"] for r in bodies] == ["PUT", "PUT"]
    jobs = [j for j in emu.control("GET", "jobs") if j["kind"] == "deploy"][-2:]
    assert [j["status"] for j in jobs] == ["finished", "finished"]
    assert manifest(emu)["container"]["instances"] == 3 and restart.result["environment"]["container"]["state"] == "Ready"
    # a stopped app asked to start with no count remembered gets one instance; started with a count gets that
    assert env_task(emu, tmp_path, state="started", instances=2).result["environment"]["container"]["instances"] == 2


def test_absent_guards_production_and_is_idempotent(emu, tmp_path):
    create(emu, tmp_path, production=True)
    emu.control("DELETE", "requests")
    refused = env_task(emu, tmp_path, state="absent")
    assert refused.result["failed"] is True and "allow_production_delete: true" in refused.result["msg"], refused
    assert not write_requests(emu)
    check = env_task(emu, tmp_path, state="absent", allow_production_delete=True, check=True)
    assert check.result["changed"] is True and check.result["deleted"] is True and not write_requests(emu)
    gone = env_task(emu, tmp_path, state="absent", allow_production_delete=True)
    assert gone.result["changed"] is True and gone.result["deleted"] is True, gone
    assert control_state(emu) is None
    again = env_task(emu, tmp_path, state="absent")
    assert again.result["changed"] is False and again.result["deleted"] is False


def test_a_duplicate_id_is_a_clear_error(emu, tmp_path):
    pkg = build(emu, tmp_path)
    # svndemo is the SVN app's environment in the same namespace: the id is taken there
    run = env_task(emu, tmp_path, env="svndemo", package_id=pkg, **NEW)
    assert run.result["failed"] is True, run
    assert "environment_id=svndemo is taken in namespace demo-namespace" in run.result["msg"]
    assert "choose another" in run.result["msg"]


def test_an_edit_made_between_read_and_write_is_kept_and_named(emu, tmp_path):
    create(emu, tmp_path)
    edit = dict(appId=GIT_APP, namespaceId=NAMESPACE, environmentId="acc", afterReads=1,
                set={"runtime.environmentVariables": [{"name": "ADDED_BY", "value": "someone else"}]})
    emu.control("POST", "environment-edits", edit)
    run = env_task(emu, tmp_path, constants={"MyFirstModule.MaxUploadMB": "99"})
    assert run.result["changed"] is True, run
    assert any("changed by someone else" in w and "runtime.environmentVariables[ADDED_BY]" in w
               for w in run.result["warnings"]), run.result.get("warnings")
    env = manifest(emu)
    assert env["runtime"]["environmentVariables"] == [{"name": "ADDED_BY", "value": "someone else"}]
    assert {"name": "MyFirstModule.MaxUploadMB", "value": "99"} in env["deployment"]["constants"]


def test_bad_input_is_refused_before_any_write(emu, tmp_path):
    create(emu, tmp_path)
    cases = [
        (dict(instances=11), "instances must be from 0 to 10"),
        (dict(state="stopped", instances=2), "state=stopped sets instances to 0"),
        (dict(state="started", instances=0), "instances must be at least 1"),
        (dict(constants={"Nope.Constant": "1"}), "the app's model defines no constant named 'Nope.Constant'"),
        (dict(scheduled_events={"MyFirstModule.NightlyCleanup": "yes please"}), "must be true or false"),
        (dict(app_log_levels={"Core": "LOUD"}), "app_log_levels: Core must be one of"),
        (dict(app_url="ftp://x"), "app_url must be an http(s) URL"),
        (dict(manifest={"environment": {"runtime": {"mxAdminPassword": "x"}}}), "is write-only material: give it as mx_admin_password"),
        (dict(manifest={"environment": {"network": {"outgoingConnectionCertificate": [{"key": "a2V5"}]}}}),
         "give it as outgoing_connection_certificates"),
        (dict(manifest={"environment": {"provider": {"namespace": "x"}}}), "manifest.environment.provider cannot be set"),
        (dict(environment_id="x" * 33), "environment_id"),
        (dict(deployment_strategy={"max_surge": 120}), "deployment_strategy.max_surge is a percentage"),
    ]
    package_id = build(emu, tmp_path)
    cases.append((dict(environment_id="newone", package_id=package_id), "to create it, give cluster_id, namespace, app_url"))
    emu.control("DELETE", "requests")
    # every case is a module run of its own (an item of one looped task, in one ansible-playbook start)
    run = run_playbook(emu, "environment_cases", tmp_path, vars_=dict(BASE, environment_id="acc"),
                       cases=[options for options, dummy in cases])
    assert run.rc == 0 and len(run.result) == len(cases), run
    for (options, message), result in zip(cases, run.result):
        assert result["failed"] is True and message in result["msg"], (options, result["msg"])
    assert not write_requests(emu)


def test_environment_info_lists_and_finds(emu, tmp_path):
    create(emu, tmp_path, name="Acceptance")
    unknown_app = "00000000-0000-4000-8000-000000000000"
    # each query is a module run of its own: an item of one looped task, in one ansible-playbook start
    run = run_playbook(emu, "environment_info_cases", tmp_path, cases=[
        dict(app_id=GIT_APP), dict(app_id=GIT_APP, name="Acceptance"),
        dict(app_id=GIT_APP, namespace_id=NAMESPACE, environment_id="gitdemo"),
        dict(app_id=GIT_APP, namespace_id=NAMESPACE, environment_id="nope"),
        dict(app_id=unknown_app, namespace_id=NAMESPACE, environment_id="nope")])
    assert run.rc == 0 and len(run.result) == 5, run
    every, by_name, one, none, unknown = run.result
    assert [e["id"] for e in every["environments"]] == ["acc", "gitdemo"], every
    assert every["changed"] is False and not every.get("failed")
    assert [e["id"] for e in by_name["environments"]] == ["acc"]
    assert [e["id"] for e in one["environments"]] == ["gitdemo"]
    assert one["environments"][0]["container"]["last_running_instance_count"] == 1
    assert none["environments"] == [] and none["failed"] is False
    assert unknown["failed"] is True and "could not be found" in unknown["msg"]
    assert unknown["msg"].startswith(f"app_id={unknown_app} is not found or not visible to this token"), unknown["msg"]


CERT_KEY = base64.b64encode(b"-----PFX of the app's client certificate, 2f9c61-----").decode()
CERT_PASSWORD = base64.b64encode(b"pfx-pass-71d0e3").decode()


def test_certificate_keys_and_passwords_never_come_back(emu, tmp_path):
    """Deploy 4.13 network.outgoingConnectionCertificate[]: its key and password are write-only. Set by another tool
    or through outgoing_connection_certificates, they appear in no result, diff or log, at -vvvv."""
    create(emu, tmp_path)
    # set by another tool, straight through the API
    current = {"manifestVersion": "2.0.0", "environment": manifest(emu)}
    current["environment"]["network"] = {"outgoingConnectionCertificate": [
        {"enabled": True, "certificateType": "Client", "key": CERT_KEY, "password": CERT_PASSWORD}]}
    headers = {"Authorization": f"MxToken {ADMIN}", "Content-Type": "application/json"}
    request = urllib.request.Request(f"{emu.url}/apps/{GIT_APP}/namespaces/{NAMESPACE}/environments/acc", method="PUT",
                                     data=json.dumps(current).encode(), headers=headers)
    with urllib.request.urlopen(request, timeout=30):
        pass
    emu.control("POST", "jobs/finish")
    assert manifest(emu)["network"]["outgoingConnectionCertificate"][0]["key"] == CERT_KEY  # the API shows it

    def leaks(run):
        text = run.stdout + run.stderr + json.dumps(run.result)
        return [name for name, value in (("key", CERT_KEY), ("password", CERT_PASSWORD)) if value in text]

    info = run_playbook(emu, "environment_info", tmp_path, verbosity=4, app_id=GIT_APP)
    assert info.rc == 0 and not leaks(info), leaks(info)
    certificates = [e for e in info.result["environments"] if e["id"] == "acc"][0]["network"]["outgoing_connection_certificate"]
    assert certificates == [{"enabled": True, "certificate_type": "Client"}]
    change = env_task(emu, tmp_path, verbosity=4, diff=True, name="Renamed")
    assert change.result["changed"] is True and change.result["changes"] == ["properties.name"], change
    assert not leaks(change), leaks(change)
    assert manifest(emu)["network"]["outgoingConnectionCertificate"][0]["key"] == CERT_KEY  # kept by the round trip

    # through the option (no_log), sent as update_secrets says
    other_key = base64.b64encode(b"another pfx 33aa").decode()
    given = env_task(emu, tmp_path, verbosity=4, diff=True, update_secrets="always",
                     secrets=dict(outgoing_connection_certificates=[{"key": other_key, "password": CERT_PASSWORD}]))
    assert given.result["changed"] is True, given
    assert given.result["secrets_sent"] == ["network.outgoingConnectionCertificate"]
    assert other_key not in given.stdout + given.stderr + json.dumps(given.result) and not leaks(given)
    assert manifest(emu)["network"]["outgoingConnectionCertificate"][0]["key"] == other_key
    quiet = env_task(emu, tmp_path, secrets=dict(outgoing_connection_certificates=[{"key": "bm90IHNlbnQ="}]))
    assert quiet.result["changed"] is False  # on_create: an existing environment's certificates are left


def test_check_mode_create_checks_the_package_and_absent_takes_the_settings(emu, tmp_path):
    emu.control("DELETE", "requests")
    missing = env_task(emu, tmp_path, check=True, package_id="0b6f3c1e-0000-4000-8000-00000000dead", **NEW)
    assert missing.result["failed"] is True and "is not a deployment package of app_id" in missing.result["msg"], missing
    assert not write_requests(emu)
    # one list of definitions drives create and delete: state=absent accepts the settings and ignores them
    pkg, dummy = create(emu, tmp_path, instances=2, constants={"MyFirstModule.MaxUploadMB": 50})
    gone = env_task(emu, tmp_path, state="absent", package_id=pkg, instances=2, **NEW)
    assert gone.result["changed"] is True and gone.result["deleted"] is True, gone
    assert control_state(emu) is None


def test_a_token_that_is_not_accepted_is_said_to_be_refused(emu, tmp_path):
    run = run_playbook(emu, "environment_info", tmp_path, token="mxpc-not-a-token-4c1d", app_id=GIT_APP, allow_failure=True)
    assert run.result["failed"] is True and "The token is not accepted" in run.result["msg"], run
    assert "The token was refused" in run.result["msg"] and "this is not a missing scope" in run.result["msg"]
    assert "needs a Personal Access Token with the scope" not in run.result["msg"]
