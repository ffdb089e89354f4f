"""Alembic environment: migrations always run on a connection purport hands over."""

from alembic import context

from purport.archive.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,  # SQLite alters tables by copy-and-move
    version_table="purport_schema_version",
)
with context.begin_transaction():
    context.run_migrations()
