"""The client's paging against the emulator: every package once, in order, with few extra requests."""

import datetime

import pytest

from ansible_collections.mendix.private_cloud.plugins.module_utils._api import Client
from ansible_collections.mendix.private_cloud.plugins.module_utils._identity import newest_first
from harness import ADMIN, GIT_APP


def listing_requests(emu):
    return [r for r in emu.requests() if r["path"].endswith("/packages") and r["method"] == "GET"]


@pytest.mark.parametrize("count,requests_made", [(0, 1), (49, 1), (50, 2), (60, 2), (120, 4), (1000, 24)])
def test_list_packages_returns_every_package_once_in_order(emu, count, requests_made):
    if count:
        emu.control("POST", "packages", {"appId": GIT_APP, "count": count})
    client = Client(emu.url, ADMIN)
    walked = []
    offset = 0
    while True:  # the plain serial walk, for comparison
        page = client.request("GET", "/apps/%s/packages" % GIT_APP, params={"offset": offset, "limit": 50})[1]
        walked += page["packages"]
        if page["pagination"]["size"] < 50:
            break
        offset += 50
    expected = [p["id"] for p in newest_first(walked)]
    emu.control("DELETE", "requests")
    got = client.list_packages(GIT_APP)
    assert [p["id"] for p in got] == expected and len(set(expected)) == count
    assert len(listing_requests(emu)) == requests_made


def test_pages_are_fetched_a_few_at_a_time(emu):
    emu.control("POST", "packages", {"appId": GIT_APP, "count": 1000})
    emu.control("POST", "faults", {"rate": 1, "kinds": ["slow"], "slow_seconds": 0.3, "path": "/packages$"})
    client = Client(emu.url, ADMIN)
    emu.control("DELETE", "requests")
    assert len(client.list_packages(GIT_APP)) == 1000
    # Each answer takes 0.3 s: requests that arrive closer together than that were in flight at the same time.
    log = listing_requests(emu)
    arrived = [datetime.datetime.strptime(r["time"], "%Y-%m-%dT%H:%M:%S.%fZ") for r in log]
    offsets = [int(r["query"]["offset"]) for r in log]
    assert offsets[:2] == [0, 50] and sorted(offsets) == list(range(0, 50 * len(offsets), 50))
    assert (arrived[1] - arrived[0]).total_seconds() >= 0.3  # the first pages one at a time
    together = [(arrived[i + 3] - arrived[i]).total_seconds() < 0.2 for i in range(4, len(arrived) - 3, 4)]
    assert together and all(together), together  # then four at once


@pytest.mark.parametrize("emulator_args", [["--max-page-size", "7"]], indirect=True)
def test_a_server_that_clamps_limit_still_gives_every_package(emu):
    emu.control("POST", "packages", {"appId": GIT_APP, "count": 60})
    emu.control("DELETE", "requests")
    got = Client(emu.url, ADMIN).list_packages(GIT_APP)
    assert len(got) == 60 and len(set(p["id"] for p in got)) == 60
    log = listing_requests(emu)
    assert all(r["query"]["limit"] == "50" for r in log)
    assert sorted(int(r["query"]["offset"]) for r in log)[:3] == [0, 7, 14]
