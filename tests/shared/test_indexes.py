"""Every foreign key has an index that leads with its columns (issue 16, item 9).

Without one, deleting or re-keying a referenced row makes PostgreSQL's referential check scan
the whole referencing table (one claim deleted = every claim read, to find the corrections and
secondary claims that point at it), and a join from the parent to its children cannot use an
index. The check reads the migrated database's catalogue, so a foreign key added later without
its index fails here, naming it.
"""

from __future__ import annotations

from shared.config import SERVICE_NAMES

# Every foreign key in the services' schemas, with its columns in key order, and whether some
# valid index on the referencing table starts with exactly those columns (in any order). A
# partial index counts only when its predicate is the key's columns being non-null, which every
# lookup by key value implies (the referential check's `WHERE fk = $1`).
_FOREIGN_KEYS = """
    WITH fk AS (
        SELECT c.conname, n.nspname AS schema, c.conrelid, t.relname AS table_name,
               c.conkey, cardinality(c.conkey) AS width,
               array_agg(a.attname ORDER BY k.ord) AS columns
          FROM pg_constraint c
          JOIN pg_class t ON t.oid = c.conrelid
          JOIN pg_namespace n ON n.oid = t.relnamespace
          CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
          JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
         WHERE c.contype = 'f' AND n.nspname = ANY($1::text[])
         GROUP BY c.conname, n.nspname, c.conrelid, t.relname, c.conkey
    )
    SELECT fk.schema, fk.table_name, fk.conname, fk.columns,
           EXISTS (
               SELECT 1 FROM pg_index i
                WHERE i.indrelid = fk.conrelid AND i.indisvalid
                  AND i.indnkeyatts >= fk.width
                  AND (SELECT array_agg(x ORDER BY x) FROM unnest((i.indkey::int2[])[0:fk.width - 1]) x)
                      = (SELECT array_agg(x ORDER BY x) FROM unnest(fk.conkey) x)
                  AND (i.indpred IS NULL
                       OR pg_get_expr(i.indpred, i.indrelid) = ANY(ARRAY(
                           SELECT '(' || string_agg(quote_ident(col) || ' IS NOT NULL', ' AND ') || ')'
                             FROM unnest(fk.columns) col)))
           ) AS indexed
      FROM fk
     ORDER BY 1, 2, 3
"""


async def test_every_foreign_key_has_an_index_leading_with_its_columns(admin):
    rows = await admin.fetch(_FOREIGN_KEYS, list(SERVICE_NAMES))
    assert rows, "no foreign keys found: is the database migrated?"
    missing = [
        f"{r['schema']}.{r['table_name']}({', '.join(r['columns'])}) [{r['conname']}]"
        for r in rows
        if not r["indexed"]
    ]
    assert not missing, f"{len(missing)} of {len(rows)} foreign keys have no index:\n" + "\n".join(missing)
