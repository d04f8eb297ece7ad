"""How the listener gathers frames into groups, with the database work swapped for a slow stand-in."""

from __future__ import annotations

import threading
import time

import pytest

from tests.feeds.conftest import MllpClient
from wmin.feeds.listener import ListenerThread, MllpListener


class SlowGroups(MllpListener):
    """Answers every frame of a group after `seconds`, and records the group sizes."""

    seconds: float = 0.5
    sizes: list[int]

    def _handle_group(self, frames):  # type: ignore[override]
        self.sizes.append(len(frames))
        time.sleep(self.seconds)
        return {index: b"MSH|^~\\&|HUB|WMIN|||||ACK|1|P|2.5.1\rMSA|AA|1\r" for index in range(len(frames))}, []


@pytest.fixture
def slow_groups(monkeypatch):
    monkeypatch.setattr("wmin.feeds.listener.MllpListener", SlowGroups)
    SlowGroups.sizes = []
    started: list[ListenerThread] = []

    def start(**options: object) -> ListenerThread:
        thread = ListenerThread("127.0.0.1", 0, group_runners=2, group_linger=0.2, busy_window=30.0, **options)
        thread.start()
        started.append(thread)
        return thread

    yield start
    for thread in started:
        thread.stop()


def late_frame_and_next_round(listener: ListenerThread) -> None:
    """Each connection a RIS sending its next frame when its ACK comes: three send together, a
    fourth while their group is in the database (after the linger), then the three again."""
    frame = b"MSH|^~\\&|RIS|RRK|HUB|WMIN|||SIU^S24|1|P|2.5.1\r"
    clients = [MllpClient((listener.host, listener.port)) for _ in range(4)]
    answers: list[bytes] = []
    try:
        for client in clients:  # each connection has sent lately: the listener counts it busy
            answers.append(client.exchange(frame))
        SlowGroups.sizes.clear()

        def send(client: MllpClient, rounds: int, after: float = 0.0) -> None:
            time.sleep(after)
            for _ in range(rounds):
                answers.append(client.exchange(frame))

        threads = [threading.Thread(target=send, args=(client, 2)) for client in clients[:3]]
        threads.append(threading.Thread(target=send, args=(clients[3], 1, 0.35)))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        for client in clients:
            client.close()
    assert len(answers) == 4 + 7 and all(answers)


def test_a_frame_that_comes_while_a_group_is_in_the_database_joins_the_next_group(slow_groups):
    late_frame_and_next_round(slow_groups(group_stall=5.0))
    assert SlowGroups.sizes == [3, 4]  # not [3, 1, 3]: one group a round, as before the late frame


def test_a_frame_goes_on_beside_a_group_that_stalls(slow_groups):
    late_frame_and_next_round(slow_groups(group_stall=0.05))
    assert SlowGroups.sizes[:2] == [3, 1]  # it did not wait the half second for the first group


def test_listeners_sharing_a_socket_take_new_connections_in_turn(transactional_db):
    import socket

    shared = socket.create_server(("127.0.0.1", 0), backlog=64)
    counts = [0, 0]
    threads = [
        ListenerThread("127.0.0.1", 0, connection_counts=counts, count_index=index, sock=shared)
        for index in range(2)
    ]
    for thread in threads:
        thread.start()
    clients: list[MllpClient] = []
    try:
        clients = [MllpClient(shared.getsockname()) for _ in range(10)]  # all at once, as after a restart
        deadline = time.monotonic() + 10
        while sum(counts) < 10 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sorted(counts) == [5, 5], counts  # asyncio's own server would take them as they came
    finally:
        for client in clients:
            client.close()
        for thread in threads:
            thread.stop()
        shared.close()
