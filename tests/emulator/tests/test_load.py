"""Under load with every fault on, the emulator answers or drops connections as asked, and never fails itself."""

import random
import threading
import time

import requests

from emutest import ADMIN, GIT_APP, fast_args
from mxpc_emulator.testing import EmulatorProcess

CLIENTS = 50
# Long enough for every client to meet every fault kind many times (thousands of answers); the emulator measures no
# time here, so a minute added nothing but CI time.
SECONDS = 20


def client_loop(base, root, stop, counts, seed):
    rng = random.Random(seed)
    session = requests.Session()
    session.headers["Authorization"] = f"MxToken {ADMIN}"
    package_ids = []
    while not stop.is_set():
        try:
            pick = rng.random()
            if pick < 0.1:
                resp = session.post(f"{base}/apps/{GIT_APP}/packages/build", timeout=10,
                                    json={"branch": "main", "revision": "6f995268a3c14d0e8b2f7a9c1d3e5f7081a2b3c4"})
            elif pick < 0.3 and package_ids:
                resp = session.get(f"{base}/apps/{GIT_APP}/packages/{rng.choice(package_ids)}", params={"url": "true"},
                                   timeout=10)
                if resp.ok and rng.random() < 0.5:
                    resp = requests.get(resp.json()["package"]["url"]["location"], timeout=10)
            elif pick < 0.35:
                resp = session.get(f"{base}/apps/{GIT_APP}/packages/build", timeout=10)  # a wrong method
            else:
                resp = session.get(f"{base}/apps/{GIT_APP}/packages", params={"limit": 50}, timeout=10)
                if resp.ok:
                    package_ids = [p["id"] for p in resp.json()["packages"]][:20]
            counts["answers"] += 1
            counts[resp.status_code // 100] = counts.get(resp.status_code // 100, 0) + 1
        except requests.RequestException:
            counts["dropped"] += 1


def test_fifty_clients_under_every_fault_leave_no_traceback():
    with EmulatorProcess(args=fast_args()) as emu:
        kinds = ["429", "500", "502", "503", "504", "reset", "slow", "lost_response", "truncate"]
        emu.control("POST", "faults", {"rate": 0.2, "kinds": kinds, "slow_seconds": 0.5, "seed": 7, "path": "^/(api|_files)/"})
        stop = threading.Event()
        counts = [{"answers": 0, "dropped": 0} for dummy in range(CLIENTS)]
        threads = [threading.Thread(target=client_loop, args=(emu.url, emu.root, stop, counts[i], i), daemon=True)
                   for i in range(CLIENTS)]
        for thread in threads:
            thread.start()
        time.sleep(SECONDS)
        stop.set()
        for thread in threads:
            thread.join(30)
        assert emu.control("GET", "health")["status"] == "ok"
        answers = sum(c["answers"] for c in counts)
        dropped = sum(c["dropped"] for c in counts)
        assert answers > 1000 and dropped > 0, (answers, dropped)
        assert sum(c.get(5, 0) for c in counts) > 0
    output = "\n".join(emu.output)
    assert "Traceback" not in output and "Error handling request" not in output, output[-5000:]
