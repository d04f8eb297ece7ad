"""Feed profiles become closed by default: a profile that lists no RIS host admits nobody.

Until now an empty `allowed_hosts` admitted any host. So that a live feed does not stop on upgrade,
each profile with an empty list is given the hosts that have actually sent it messages the hub took
(applied or accepted with nothing to do): the evidence of where its RIS is. A profile no host ever
sent an accepted message for stays empty, and so closed, until an admin lists its RIS. Going back
leaves the lists as they are (they still admit exactly those hosts).
"""

from django.db import migrations, models

import wmin.feeds.models

ACCEPTED = ("applied", "ignored")


def _host_of(peer: str) -> str:
    if peer.startswith("["):
        return peer[1:].split("]", 1)[0]
    if peer.count(":") == 1:
        return peer.split(":", 1)[0]
    return peer


def allow_the_hosts_that_have_sent(apps, schema_editor):
    FeedProfile = apps.get_model("feeds", "FeedProfile")
    InboundMessage = apps.get_model("feeds", "InboundMessage")
    for profile in FeedProfile.objects.all().iterator():
        if profile.allowed_hosts:
            continue
        peers = (
            InboundMessage.objects.filter(trust_id=profile.trust_id, status__in=ACCEPTED, duplicate_of__isnull=True)
            .values_list("peer", flat=True)
            .distinct()
            .iterator()
        )
        hosts = sorted({_host_of(peer) for peer in peers if peer})
        if hosts:
            profile.allowed_hosts = hosts
            profile.save(update_fields=["allowed_hosts"])


class Migration(migrations.Migration):

    dependencies = [
        ('feeds', '0004_inbound_control_id_whole'),
    ]

    operations = [
        migrations.AlterField(
            model_name='feedprofile',
            name='allowed_hosts',
            field=models.JSONField(blank=True, default=list, help_text="The RIS's IP addresses or networks (CIDR, e.g. 10.20.0.0/24) allowed to send; empty: nobody", validators=[wmin.feeds.models.validate_hosts]),
        ),
        migrations.RunPython(allow_the_hosts_that_have_sent, migrations.RunPython.noop),
    ]
