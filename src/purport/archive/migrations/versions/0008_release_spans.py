"""Releases dated as precisely as their sources allow: a span of days (first, last), its
precision, the weekday named and how the span was obtained.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("releases") as batch:
        batch.add_column(sa.Column("date_first", sa.Date))
        batch.add_column(sa.Column("date_last", sa.Date))
        batch.add_column(sa.Column("precision", sa.String(10)))
        batch.add_column(sa.Column("weekday", sa.String(10)))
        batch.add_column(sa.Column("date_basis", sa.Text))
    # every release so far was filed on a day
    op.execute("UPDATE releases SET date_first = date, date_last = date, precision = 'day', "
               "date_basis = 'filed before spans were kept' WHERE date IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("releases") as batch:
        for column in ("date_basis", "weekday", "precision", "date_last", "date_first"):
            batch.drop_column(column)
