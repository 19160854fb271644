"""Alembic environment for Flask-Migrate: the app's engine and metadata, batch mode on."""

import logging

from alembic import context
from flask import current_app

from models import declared_in_models

log = logging.getLogger("alembic.env")
db = current_app.extensions["migrate"].db
target_metadata = db.metadata


def _options() -> dict:
    # Batch mode rewrites ALTERs as table copies on SQLite; the one migration set thus
    # runs on SQLite and PostgreSQL alike.
    # Search's index is made by hand (0005_search): autogenerate must not drop it.
    return {
        **current_app.extensions["migrate"].configure_args,
        "render_as_batch": True,
        "include_name": declared_in_models,
    }


def run_migrations_offline() -> None:
    url = db.engine.url.render_as_string(hide_password=False)
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True, **_options())
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    def skip_empty_autogenerate(ctx, revision, directives):
        if (
            getattr(context.config.cmd_opts, "autogenerate", False)
            and directives[0].upgrade_ops.is_empty()
        ):
            directives[:] = []
            log.info("No changes in schema detected.")

    with db.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode copies a table and drops the old one; with foreign keys on (the
            # app turns them on per connection), that drop would cascade to every row that
            # references it. SQLite ignores this pragma inside a transaction, hence commit.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            process_revision_directives=skip_empty_autogenerate,
            **_options(),
        )
        with context.begin_transaction():
            context.run_migrations()
        if sqlite:
            connection.commit()
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")  # back to the pool as it was
            connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
