"""Each trust learns whether the hub sends its RIS SRM now (from its feed profile): booking reads it to
keep a hub booking pending until the RIS accepts it."""

from django.db import migrations


def mark_connected(apps, schema_editor):
    FeedProfile = apps.get_model("feeds", "FeedProfile")
    Trust = apps.get_model("slots", "Trust")
    for trust_id, active, host, port in FeedProfile.objects.values_list("trust_id", "active", "ris_host", "ris_port"):
        Trust.objects.filter(pk=trust_id).update(srm_connected=bool(active and host and port))


class Migration(migrations.Migration):
    dependencies = [
        ("feeds", "0008_feed_profile_cancel_reason_map"),
        ("slots", "0007_trust_knows_its_srm_connection"),
    ]

    operations = [migrations.RunPython(mark_connected, migrations.RunPython.noop)]
