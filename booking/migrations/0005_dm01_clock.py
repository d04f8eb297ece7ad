"""Two clocks on every referral (issue 18): the DM01 clock starts as the referral date (existing rows
copied from clock_start), who cancelled each booking, and the DM01 clock's restart history."""

import django.db.models.deletion
from django.db import migrations, models


def dm01_clock_from_referral_date(apps, schema_editor):
    Referral = apps.get_model("booking", "Referral")
    Referral.objects.filter(dm01_clock_start__isnull=True).update(dm01_clock_start=models.F("clock_start"))


class Migration(migrations.Migration):

    dependencies = [
        ('booking', '0004_invitations_and_reminders'),
    ]

    operations = [
        migrations.AddField(
            model_name='booking',
            name='cancelled_by',
            field=models.CharField(blank=True, choices=[('patient', 'The patient'), ('hospital', 'The hospital')], help_text='Who asked for the cancellation (cancelled bookings only)', max_length=10),
        ),
        migrations.AddField(
            model_name='referral',
            name='dm01_clock_start',
            field=models.DateTimeField(help_text='The DM01 clock: the referral date until the patient cancels or does not attend (booking/rules/dm01.py; booking.services.clocks moves it)', null=True),
        ),
        migrations.RunPython(dm01_clock_from_referral_date, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name='referral',
            name='dm01_clock_start',
            field=models.DateTimeField(help_text='The DM01 clock: the referral date until the patient cancels or does not attend (booking/rules/dm01.py; booking.services.clocks moves it)'),
        ),
        migrations.CreateModel(
            name='Dm01ClockRestart',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('event', models.CharField(choices=[('patient_cancelled', 'Patient cancelled'), ('hospital_cancelled', 'Hospital cancelled'), ('did_not_attend', 'Did not attend')], help_text='Why it restarted: the patient cancelled, or did not attend', max_length=20)),
                ('cancelled_by', models.CharField(blank=True, choices=[('patient', 'The patient'), ('hospital', 'The hospital')], max_length=10)),
                ('previous_clock_start', models.DateTimeField()),
                ('restarted_from', models.DateTimeField(help_text="The new DM01 clock start: when the patient cancelled, or the missed appointment's time")),
                ('reason', models.CharField(blank=True, max_length=200)),
                ('recorded_at', models.DateTimeField(auto_now_add=True)),
                ('booking', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='dm01_restarts', to='booking.booking')),
                ('referral', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='dm01_restarts', to='booking.referral')),
            ],
            options={
                'ordering': ['referral', 'restarted_from', 'pk'],
                'indexes': [models.Index(fields=['referral', 'restarted_from'], name='dm01_restart_by_referral')],
            },
        ),
    ]
