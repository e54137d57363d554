"""Unit tests of the job waiter: interval schedule, deadline, failure detection, job references."""

import pytest

from ansible_collections.mendix.private_cloud.plugins.module_utils import _jobs
from ansible_collections.mendix.private_cloud.plugins.module_utils._api import MendixApiError


class FakeClock:
    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


class FakeClient:
    """A job that finishes `duration` seconds after the first poll, on the fake clock."""

    def __init__(self, clock, duration, final=None, errors_at=()):
        self.clock = clock
        self.duration = duration
        self.final = final or {"status": "finished", "packageId": "p-1"}
        self.start = None
        self.calls = []
        self.errors_at = list(errors_at)

    def get_job(self, job_id, log=False, scopes=None):
        if self.start is None:
            self.start = self.clock.now
        self.calls.append((job_id, log))
        if self.errors_at and len(self.calls) in self.errors_at:
            raise MendixApiError("GET /jobs: cannot reach the API", status=None)
        if log:
            return {"id": job_id, "status": "failed", "log": {"build": "\n".join("line %d" % i for i in range(40))}}
        if self.clock.now - self.start >= self.duration:
            return dict(self.final, id=job_id)
        return {"id": job_id, "status": "running"}


def waiter_for(duration, timeout=1200, **kwargs):
    clock = FakeClock()
    client = FakeClient(clock, duration, **kwargs)
    return _jobs.JobWaiter(client, timeout, clock=clock.clock, sleep=clock.sleep), client, clock


def test_interval_schedule():
    assert _jobs.next_interval(0) == 1.0
    assert _jobs.next_interval(5) == 1.0
    assert _jobs.next_interval(50) == 5.0
    assert _jobs.next_interval(1000) == 30.0
    assert _jobs.next_interval(1000, max_interval=10) == 10.0
    assert _jobs.next_interval(0, initial_interval=0.5) == 0.5


@pytest.mark.parametrize("duration", [0.3, 5, 30, 120, 600])
def test_lag_is_bounded(duration):
    waiter, _client, _clock = waiter_for(duration)
    result = waiter.wait("job-1")
    lag = result["elapsed"] - duration
    assert 0 <= lag <= max(1.0, 0.1 * duration) + 1e-9
    assert result["package_id"] == "p-1" and result["status"] == "finished"


def test_ten_minute_job_costs_at_most_60_polls():
    waiter, client, _clock = waiter_for(600)
    result = waiter.wait("job-1")
    assert result["polls"] == len(client.calls) <= 60


def test_deadline_is_monotonic_and_exact():
    waiter, _client, clock = waiter_for(10_000, timeout=100)
    with pytest.raises(_jobs.JobTimeout) as info:
        waiter.wait("job-1")
    assert clock.now - 1000.0 == pytest.approx(100)
    assert info.value.result["status"] == "running"
    assert "did not finish within 100 seconds" in info.value.message


def test_failed_status_fetches_log_tail():
    waiter, client, _clock = waiter_for(2, final={"status": "failed", "error": {"code": 400, "message": "The job failed"}})
    with pytest.raises(_jobs.JobFailed) as info:
        waiter.wait("job-1")
    assert "The job failed" in info.value.message
    assert "line 39" in info.value.message and "line 24" not in info.value.message
    assert client.calls[-1] == ("job-1", True)


def test_error_object_with_created_status_is_failure():
    waiter, _client, _clock = waiter_for(0, final={"status": "created", "error": {"message": "Request validation errors"}})
    with pytest.raises(_jobs.JobFailed) as info:
        waiter.wait("job-1")
    assert info.value.result["status"] == "failed"
    assert "Request validation errors" in info.value.message


def test_transient_errors_do_not_end_the_wait():
    waiter, _client, _clock = waiter_for(5, errors_at=(2, 3, 4))
    result = waiter.wait("job-1")
    assert result["status"] == "finished" and waiter.transient_errors == 3


def test_job_reference_forms():
    assert _jobs.job_id_from("abc-123") == "abc-123"
    assert _jobs.job_id_from("https://privatecloud.mendixcloud.com/api/v4/jobs/abc-123") == "abc-123"
    assert _jobs.job_id_from("https://privatecloud.mendixcloud.com/api/v3/jobs/abc-123?log=true") == "abc-123"
    for bad in ("", "https://x/api/v4/apps/1", "a/b"):
        with pytest.raises(ValueError):
            _jobs.job_id_from(bad)


def test_log_tail():
    assert _jobs.log_tail("a\n\nb\nc\n", lines=2) == "b\nc"
    assert _jobs.log_tail(None) == ""
