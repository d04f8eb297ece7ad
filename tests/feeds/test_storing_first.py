"""A message is acknowledged only once its raw row is stored under its sender and MSH-10."""

from __future__ import annotations

import pytest
from django.db import connection

from tests.feeds.conftest import ack_code, make_trust
from tests.feeds.helpers import Feed
from wmin.feeds.models import InboundMessage, InboundStatus
from wmin.feeds.simulator.messages import RisStyle

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def feed(transactional_db):
    make_trust("RRK", ["RRK"])
    return Feed(RisStyle("RRK"))


@pytest.fixture
def database_refusing_keyed_rows(transactional_db):
    """The server answers every INSERT of a keyed raw row as a server still starting up does
    (SQLSTATE 57P03, an OperationalError), until the test lifts it; keyless rows still go in."""
    if connection.vendor != "postgresql":
        pytest.skip("a trigger raising a server error is PostgreSQL's (run with DATABASE_URL)")
    table = InboundMessage._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION test_refuse_keyed_rows() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.sending_facility <> '' THEN RAISE EXCEPTION 'the database system is starting up' "
            "USING ERRCODE = 'cannot_connect_now'; END IF; RETURN NEW; END $$"
        )
        cursor.execute(
            f"CREATE TRIGGER test_refuse_keyed_rows BEFORE INSERT ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION test_refuse_keyed_rows()"
        )

    def lift() -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TRIGGER IF EXISTS test_refuse_keyed_rows ON {table}")
            cursor.execute("DROP FUNCTION IF EXISTS test_refuse_keyed_rows()")

    yield lift
    lift()


def test_a_database_failure_while_storing_gets_no_ack_and_the_resend_is_stored_under_its_key(
    feed, client_for, database_refusing_keyed_rows
):
    payload = feed.siu("S24", "SLOT-1")
    ris = client_for()
    ris.send(payload)
    with pytest.raises(ConnectionError):
        ris.receive()  # closed without an ACK: the RIS will send it again
    assert not InboundMessage.objects.exists()

    database_refusing_keyed_rows()
    assert ack_code(client_for().exchange(payload)) == "AA"
    (row,) = InboundMessage.objects.all()
    assert (row.sending_facility, row.control_id, row.status) == ("RRK", feed.sent[-1], InboundStatus.APPLIED)
