# Rate-limit counters in the database (when there is no Redis), and the normalised username
# that sign-in and the login throttle look accounts up by.

import unicodedata

from django.db import migrations, models


def normalise_username(value):
    # Same as accounts.models.normalise_username at the time of writing (a migration must not
    # import today's code).
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).casefold())


def fill_normalised_usernames(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    batch = []
    for user in User.objects.using(schema_editor.connection.alias).only("id", "username").iterator(chunk_size=1000):
        user.username_normalised = normalise_username(user.username)
        batch.append(user)
        if len(batch) >= 1000:
            User.objects.using(schema_editor.connection.alias).bulk_update(batch, ["username_normalised"])
            batch = []
    if batch:
        User.objects.using(schema_editor.connection.alias).bulk_update(batch, ["username_normalised"])


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='AttemptCounter',
            fields=[
                ('key', models.CharField(max_length=100, primary_key=True, serialize=False)),
                ('count', models.IntegerField(default=0)),
                ('window_start', models.DateTimeField()),
                ('expires_at', models.DateTimeField(db_index=True)),
            ],
        ),
        migrations.AddField(
            model_name='user',
            name='username_normalised',
            field=models.TextField(default='', editable=False),
        ),
        migrations.RunPython(fill_normalised_usernames, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name='user',
            index=models.Index(fields=['username_normalised'], name='user_username_normalised'),
        ),
    ]
