"""The behaviours the API's docs leave open, each settable: list order, page size, Location version, naming."""

import re

import pytest

from emutest import GIT_APP, SVN_APP


def ids_in_order(api, limit=50):
    out, offset = [], 0
    while True:
        body = api("GET", f"/apps/{GIT_APP}/packages", params={"offset": offset, "limit": limit}).json()
        out += [p["id"] for p in body["packages"]]
        if body["pagination"]["size"] < body["pagination"]["limit"]:
            return out
        offset += body["pagination"]["limit"]


def test_list_order_newest_oldest_and_a_fixed_shuffle(api, emulator):
    emulator.control("POST", "packages", {"appId": GIT_APP, "count": 30})
    newest = ids_in_order(api)
    emulator.control("POST", "settings", {"list_order": "oldest"})
    assert ids_in_order(api) == newest[::-1]
    emulator.control("POST", "settings", {"list_order": "shuffled"})
    shuffled = ids_in_order(api, limit=7)
    assert sorted(shuffled) == sorted(newest) and shuffled not in (newest, newest[::-1])
    assert ids_in_order(api, limit=11) == shuffled  # the same order on every request, so paging stays whole


def test_max_page_size_clamps_limit_and_says_so(api, emulator):
    emulator.control("POST", "packages", {"appId": GIT_APP, "count": 12})
    emulator.control("POST", "settings", {"max_page_size": 5})
    body = api("GET", f"/apps/{GIT_APP}/packages", params={"limit": 50}).json()
    assert len(body["packages"]) == 5 and body["pagination"] == {"offset": 0, "limit": 5, "size": 5}
    assert len(ids_in_order(api)) == 12


def test_location_v3_as_in_the_docs_example(api, emulator):
    emulator.control("POST", "settings", {"location_version": "v3"})
    resp = api.build()
    assert re.search(r"/api/v3/jobs/" + resp.json()["id"] + "$", resp.headers["Location"])


def test_opaque_naming_follows_no_documented_format(api, emulator):
    emulator.control("POST", "settings", {"naming": "opaque"})
    pkg = api.built_package(version="2.0.0")
    assert re.match(r"^[0-9a-f-]{36}\.mda$", pkg["fileName"])
    assert pkg["modelVersion"].startswith("2.0.0.") and pkg["modelVersion"] != "2.0.0.6f995268"


def test_documented_naming_is_the_default(api):
    pkg = api.built_package(app=SVN_APP, branch="release-1.2", revision="623", version="1.3.0")
    assert pkg["fileName"] == "release-1.2-1.3.0.623.mda" and pkg["modelVersion"] == "1.3.0.623"


@pytest.mark.parametrize("body", [{"list_order": "random"}, {"max_page_size": 0}, {"naming": 1}, {"nope": 1},
                                  {"build_seconds": -1}])
def test_bad_settings_are_refused_and_reset_restores_the_seed(api, emulator, body):
    before = emulator.control("GET", "settings")
    with pytest.raises(Exception) as info:
        emulator.control("POST", "settings", body)
    assert "400" in str(info.value)
    emulator.control("POST", "settings", {"build_seconds": 9})
    emulator.control("POST", "reset")
    assert emulator.control("GET", "settings") == before
