# The installation admin at a million rows (docs/deployment.md, "A site with a million
# installations"; bench/admin_scale.py measures it): indexes for the changelist's ordering
# and list filters (portable, in Installation.Meta), and for its prefix search.
#
# The search looks up UPPER(column) LIKE 'PREFIX%' on PostgreSQL (Django's istartswith):
# only an index on that expression with a pattern operator class serves it, whatever the
# database's collation, and neither SQLite nor MariaDB can build one. So those four
# indexes are made per database, outside the model state: on PostgreSQL the expression
# indexes; on MariaDB/MySQL, where LIKE 'prefix%' under the column's case-insensitive
# collation reads a plain index, the columns themselves; on SQLite none (it does not use
# an index for LIKE with Django's ESCAPE, and is no database for a million rows).
#
# Building them blocks writes to the table meanwhile: seconds at a million rows (see
# docs/deployment.md).

from typing import Any

from django.db import migrations, models

SEARCHED = {
    "team_name": "slack_installs_team_name_pfx",
    "team_id": "slack_installs_team_id_pfx",
    "enterprise_name": "slack_installs_ent_name_pfx",
    "enterprise_id": "slack_installs_ent_id_pfx",
}


def add_search_indexes(apps: Any, schema_editor: Any) -> None:
    model = apps.get_model("slack_installs", "Installation")
    vendor = schema_editor.connection.vendor
    quote = schema_editor.quote_name
    for field_name, name in SEARCHED.items():
        if vendor == "postgresql":
            # By hand: Django writes an operator class in an index only when
            # django.contrib.postgres is installed, which the host may not have.
            column = model._meta.get_field(field_name).column
            schema_editor.execute(
                f"CREATE INDEX {quote(name)} ON {quote(model._meta.db_table)} "
                f"(UPPER({quote(column)}) text_pattern_ops)"
            )
        elif vendor == "mysql":
            schema_editor.add_index(model, models.Index(fields=[field_name], name=name))


def remove_search_indexes(apps: Any, schema_editor: Any) -> None:
    model = apps.get_model("slack_installs", "Installation")
    vendor = schema_editor.connection.vendor
    for field_name, name in SEARCHED.items():
        if vendor == "postgresql":
            schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")
        elif vendor == "mysql":
            schema_editor.remove_index(model, models.Index(fields=[field_name], name=name))


class Migration(migrations.Migration):
    dependencies = [
        ("slack_installs", "0011_installationevent"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="installation",
            index=models.Index(fields=["-installed_at", "-id"], name="slack_installs_newest_idx"),
        ),
        migrations.AddIndex(
            model_name="installation",
            index=models.Index(
                fields=["app", "-installed_at", "-id"], name="slack_installs_app_newest_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="installation",
            index=models.Index(
                fields=["scopes_missing", "-installed_at", "-id"],
                name="slack_installs_scopes_new_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="installation",
            index=models.Index(
                fields=["is_enterprise_install", "-installed_at", "-id"],
                name="slack_installs_org_new_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="installation",
            index=models.Index(fields=["revoked_at"], name="slack_installs_revoked_idx"),
        ),
        migrations.AddIndex(
            model_name="installation",
            index=models.Index(fields=["needs_reinstall_at"], name="slack_installs_reinstall_idx"),
        ),
        # Not atomic: MariaDB/MySQL cannot roll DDL back, and Django refuses DDL in a
        # transaction there (a RunPython is one by default).
        migrations.RunPython(
            add_search_indexes, remove_search_indexes, atomic=False, elidable=False
        ),
    ]
