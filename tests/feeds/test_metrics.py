"""/metrics: what every MLLP listener process did, summed, in the Prometheus text format."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tests.feeds.conftest import MllpClient, ack_code, make_trust, running_listener
from tests.feeds.helpers import Feed
from wmin.feeds import metrics
from wmin.feeds.models import ListenerProcessStats
from wmin.feeds.simulator.messages import RisStyle


def samples(text: str) -> dict[str, float]:
    """`name{labels}` → value, for every sample line."""
    found = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            series, value = line.rsplit(" ", 1)
            found[series] = float(value)
    return found


def snapshot(counters, *, buckets=None, total=0.0, gauges=None):
    return {"counters": counters, "latency_buckets": buckets or [0] * (len(metrics.LATENCY_BUCKETS) + 1),
            "latency_sum": total, "gauges": gauges or {}}


@pytest.mark.django_db
def test_staff_read_every_process_summed_counters_from_all_gauges_from_the_live_ones(admin_client, settings):
    now = timezone.now()
    stopped = snapshot([["messages_total", {"type": "SIU", "code": "AA"}, 5]],
                       buckets=[5] + [0] * len(metrics.LATENCY_BUCKETS), total=0.01,
                       gauges={"connections_open": 7})
    running = snapshot([["messages_total", {"type": "SIU", "code": "AA"}, 2],
                        ["messages_total", {"type": "ORM", "code": "AE"}, 1],
                        ["connections_refused_total", {"reason": "max_connections_per_host"}, 3]],
                       buckets=[0, 0, 2, 1] + [0] * (len(metrics.LATENCY_BUCKETS) - 3), total=0.06,
                       gauges={"connections_open": 4, "queue_depth": 1})
    ListenerProcessStats.objects.create(process="a:1", started_at=now - dt.timedelta(days=1),
                                        updated_at=now - dt.timedelta(hours=1), snapshot=stopped)
    ListenerProcessStats.objects.create(process="a:2", started_at=now, updated_at=now, snapshot=running)

    response = admin_client.get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    text = response.content.decode()
    assert "# TYPE wmin_mllp_messages_total counter" in text
    assert "# TYPE wmin_mllp_ack_latency_seconds histogram" in text
    found = samples(text)
    assert found['wmin_mllp_messages_total{code="AA",type="SIU"}'] == 7  # the stopped process's still count
    assert found['wmin_mllp_messages_total{code="AE",type="ORM"}'] == 1
    assert found['wmin_mllp_connections_refused_total{reason="max_connections_per_host"}'] == 3
    assert found["wmin_mllp_connections_open"] == 4  # only the process still reporting
    assert found["wmin_mllp_queue_depth"] == 1
    assert found["wmin_mllp_processes"] == 1
    assert found['wmin_mllp_ack_latency_seconds_bucket{le="0.005"}'] == 5
    assert found['wmin_mllp_ack_latency_seconds_bucket{le="0.025"}'] == 7  # cumulative
    assert found['wmin_mllp_ack_latency_seconds_bucket{le="+Inf"}'] == found["wmin_mllp_ack_latency_seconds_count"] == 8
    assert found["wmin_mllp_ack_latency_seconds_sum"] == pytest.approx(0.07)


@pytest.mark.django_db
def test_metrics_want_staff_or_the_token(client, clerk_client, settings):
    settings.METRICS_TOKEN = "a-long-random-token"
    anonymous = client.get("/metrics")
    assert anonymous.status_code == 401 and anonymous["WWW-Authenticate"].startswith("Bearer")
    assert clerk_client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer a-long-random-token").status_code == 200
    settings.METRICS_TOKEN = None
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401


@pytest.mark.django_db(transaction=True)
def test_a_listeners_messages_refusals_and_latency_reach_metrics(admin_client):
    make_trust("RRK", ["RRK"])
    feed = Feed(RisStyle("RRK"))
    with running_listener() as thread, MllpClient((thread.host, thread.port)) as ris:
        assert ack_code(ris.exchange(feed.siu("S24", "M-1"))) == "AA"
        assert ack_code(ris.exchange(feed.siu("S24", "M-2"))) == "AA"
        assert ack_code(ris.exchange(b"no message here")) == "AR"
        thread.record_metrics_now()
        found = samples(admin_client.get("/metrics").content.decode())
    assert found['wmin_mllp_messages_total{code="AA",type="SIU"}'] == 2
    assert found['wmin_mllp_frames_refused_total{reason="junk"}'] == 1
    assert found["wmin_mllp_ack_latency_seconds_count"] == 2
    assert found["wmin_mllp_processes"] == 1
    assert found["wmin_mllp_connections_open"] == 1  # the RIS's, still open when the figures were written


@pytest.mark.parametrize(
    ("payload", "kind"),
    [(b"MSH|^~\\&|RIS|RRK|||20260101||SIU^S12^SIU_S12|1|P|2.5.1\r", "SIU"),
     (b"\xef\xbb\xbfMSH|^~\\&|RIS|RRK|||20260101||ORM^O01|1|P|2.3\n", "ORM"),
     (b"MSH|^~\\&|RIS|RRK|||20260101||ZZZ^Q|1|P|2.5\r", "other"),
     (b"MSH|^~\\&|RIS", "other"), (b"", "other")],
)
def test_the_message_type_label_is_one_the_hub_knows_or_other(payload, kind):
    assert metrics.message_type(payload) == kind


@pytest.mark.django_db
def test_stopped_processes_fold_into_one_row_and_the_sums_stay_the_same():
    now = timezone.now()
    day_ago = now - dt.timedelta(days=2)
    for process, count in (("a:1", 5), ("a:2", 3)):
        ListenerProcessStats.objects.create(
            process=process, started_at=day_ago, updated_at=day_ago,
            snapshot=snapshot([["messages_total", {"type": "SIU", "code": "AA"}, count]],
                              buckets=[count] + [0] * len(metrics.LATENCY_BUCKETS), total=0.001 * count,
                              gauges={"connections_open": 9}),
        )
    ListenerProcessStats.objects.create(
        process="a:3", started_at=now, updated_at=now,
        snapshot=snapshot([["messages_total", {"type": "ORM", "code": "AE"}, 1]],
                          buckets=[0, 1] + [0] * (len(metrics.LATENCY_BUCKETS) - 1), total=0.006,
                          gauges={"connections_open": 2}),
    )
    before = samples(metrics.exposition(interval=5, now=now))

    assert metrics.fold_retired(now=now) == 2
    assert metrics.fold_retired(now=now) == 0
    assert sorted(ListenerProcessStats.objects.values_list("process", flat=True)) == ["a:3", metrics.RETIRED]
    after = samples(metrics.exposition(interval=5, now=now))
    assert after == before
    assert after['wmin_mllp_messages_total{code="AA",type="SIU"}'] == 8
    assert (after["wmin_mllp_processes"], after["wmin_mllp_connections_open"]) == (1, 2)

    ListenerProcessStats.objects.filter(process="a:3").update(updated_at=day_ago)
    assert metrics.fold_retired(now=now) == 1
    assert samples(metrics.exposition(interval=5, now=now))['wmin_mllp_messages_total{code="AE",type="ORM"}'] == 1
    assert ListenerProcessStats.objects.count() == 1
