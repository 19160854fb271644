"""search: messages.search_text and its index (GIN on PostgreSQL, FTS5 on SQLite)

Revision ID: 0005_search
Revises: 0004_hardening
Create Date: 2026-12-02

``messages.search_text`` holds each message's words as search indexes them
(``chat.searchtext.document``); this fills it for the messages already stored, then indexes
it:

- PostgreSQL: a GIN index over ``array_to_tsvector(string_to_array(search_text, ' '))``:
  the stored words as lexemes, as they are (the text search parser, whose word
  boundaries depend on the database's locale, never sees them). Writes to ``messages``
  wait while it builds (a plain CREATE INDEX, in the migration's transaction).
- SQLite: ``messages_fts``, an FTS5 table whose content is ``messages.search_text``
  (``content=messages``: the text is not stored twice), kept in step by triggers on
  ``messages``. A later migration that copies ``messages`` (batch mode's recreate)
  drops these triggers with the old table and must create them again.

Measured with ``bench/search.py`` (PostgreSQL 15, 2 shared cores): 10^6 stored messages
took 49 s to upgrade, ~36 s to fill search_text (Python folds and the UPDATE writes a
new version of every row, which VACUUM reclaims afterwards) and ~13 s to build the index
(40 MB beside a 198 MB table) and analyze.
"""

import sqlalchemy as sa
from alembic import op

from chat.searchtext import document

revision = "0005_search"
down_revision = "0004_hardening"
branch_labels = None
depends_on = None

BATCH = 5000

# chat/search.py queries with this very expression. New entries wait in a pending list
# that the inserting backend merges into the index once it holds gin_pending_list_limit:
# at the default 4 MB that merge stalled one insert for ~350 ms here (every ~40,000
# messages); at 512 kB, ~60 ms every ~5,000, for ~+60 us per insert on average
# (fastupdate off: ~+110 us on every insert and no stalls).
INDEX = (
    "CREATE INDEX ix_messages_search ON messages USING gin "
    "(array_to_tsvector(string_to_array(search_text, ' '))) WITH (gin_pending_list_limit = 512)"
)

# External content: FTS5 reads search_text from messages itself, and must be told a
# row's old words to forget them ('delete'). Only rows with words are in the index.
SQLITE_TRIGGERS = (
    """
    CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
    WHEN new.search_text IS NOT NULL BEGIN
        INSERT INTO messages_fts (rowid, search_text) VALUES (new.id, new.search_text);
    END
    """,
    """
    CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
    WHEN old.search_text IS NOT NULL BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, search_text)
        VALUES ('delete', old.id, old.search_text);
    END
    """,
    """
    CREATE TRIGGER messages_fts_update AFTER UPDATE OF search_text ON messages BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, search_text)
        SELECT 'delete', old.id, old.search_text WHERE old.search_text IS NOT NULL;
        INSERT INTO messages_fts (rowid, search_text)
        SELECT new.id, new.search_text WHERE new.search_text IS NOT NULL;
    END
    """,
)
SQLITE_TRIGGER_NAMES = ("messages_fts_insert", "messages_fts_delete", "messages_fts_update")


def _fill(bind) -> None:
    """search_text for every stored message with a body, BATCH messages at a time."""
    messages = sa.table(
        "messages", sa.column("id", sa.Integer), sa.column("body"), sa.column("search_text")
    )
    after = 0
    while True:
        rows = bind.execute(
            sa.select(messages.c.id, messages.c.body)
            .where(messages.c.id > after, messages.c.body.is_not(None))
            .order_by(messages.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        after = rows[-1].id
        documents = [(row.id, document(row.body)) for row in rows]
        if bind.dialect.name == "postgresql":
            # One statement per batch (an executemany of UPDATEs is a round trip a row).
            bind.execute(
                sa.text(
                    "UPDATE messages SET search_text = batch.words"
                    " FROM unnest(CAST(:ids AS integer[]), CAST(:words AS text[]))"
                    " AS batch(id, words) WHERE messages.id = batch.id"
                ),
                {"ids": [i for i, _ in documents], "words": [w for _, w in documents]},
            )
        else:
            bind.execute(
                messages.update()
                .where(messages.c.id == sa.bindparam("b_id"))
                .values(search_text=sa.bindparam("b_words")),
                [{"b_id": i, "b_words": w} for i, w in documents],
            )


def upgrade():
    # A nullable column without a default: SQLite adds it in place, no table copy.
    with op.batch_alter_table("messages", recreate="never") as batch_op:
        batch_op.add_column(sa.Column("search_text", sa.Text(), nullable=True))
    bind = op.get_bind()
    _fill(bind)
    if bind.dialect.name == "postgresql":
        op.execute(INDEX)
        # Statistics of the index's words, so the planner knows a common word from a
        # rare one at once (without them it may walk the whole table for a rare prefix).
        op.execute("ANALYZE messages")
    else:
        op.execute(
            "CREATE VIRTUAL TABLE messages_fts USING fts5(search_text, content='messages', "
            "content_rowid='id', tokenize='ascii')"
        )
        for trigger in SQLITE_TRIGGERS:
            op.execute(trigger)
        op.execute("INSERT INTO messages_fts (messages_fts) VALUES ('rebuild')")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_messages_search")
    else:
        for name in SQLITE_TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS messages_fts")
    # ALTER TABLE ... DROP COLUMN, not a table copy (see 0002_sessions).
    with op.batch_alter_table("messages", recreate="never") as batch_op:
        batch_op.drop_column("search_text")
