//! [`Fixed`]: a statement written as SQL that diesel's statement cache keeps prepared.

/// A value bound to a [`Fixed`] statement.
#[derive(Debug, Clone, Copy)]
pub enum Bind<'a> {
    Text(&'a str),
    BigInt(i64),
    /// A nullable text column: `None` binds NULL, with the same SQL as a value.
    NullableText(Option<&'a str>),
    /// A nullable integer column: `None` binds NULL, with the same SQL as a value.
    NullableBigInt(Option<i64>),
}

/// A statement written as SQL, with `?` where each of `binds` goes, in order, that the
/// connection keeps prepared. Diesel prepares every UPDATE and every `sql_query` afresh
/// on each execution (parsing and planning it again), and on PostgreSQL every INSERT of a
/// row with an optional field (SQLite caches one such INSERT per pattern of `None`s),
/// because such statements can give different SQL from one call to the next; a `Fixed`
/// statement gives the same SQL every time and is cached by that text. For the
/// hottest writes: the throttle's reservation was a third of a sign-in's database time,
/// most of it preparing the statement again. The SQL must be plain SQL that SQLite and
/// PostgreSQL both take (the placeholders are the backend's own), with no `?` but the
/// placeholders.
#[derive(Debug, Clone)]
pub struct Fixed<'a> {
    sql: &'static str,
    binds: Vec<Bind<'a>>,
}

impl<'a> Fixed<'a> {
    pub fn new(sql: &'static str, binds: Vec<Bind<'a>>) -> Self {
        debug_assert_eq!(sql.matches('?').count(), binds.len(), "{sql}");
        Fixed { sql, binds }
    }

    /// The statement as a query whose rows (a `RETURNING` clause's, say) are of SQL type
    /// `ST`, to `load` or `get_result` like any diesel query, still kept prepared.
    pub fn returning<ST>(self) -> Returning<'a, ST> {
        Returning {
            fixed: self,
            rows: std::marker::PhantomData,
        }
    }
}

/// A [`Fixed`] statement that answers rows of SQL type `ST`: see [`Fixed::returning`].
#[derive(Debug, Clone)]
pub struct Returning<'a, ST> {
    fixed: Fixed<'a>,
    rows: std::marker::PhantomData<ST>,
}

impl<ST> diesel::query_builder::Query for Returning<'_, ST> {
    type SqlType = ST;
}

impl<DB, ST> diesel::query_builder::QueryFragment<DB> for Returning<'_, ST>
where
    DB: diesel::backend::Backend,
    for<'f> Fixed<'f>: diesel::query_builder::QueryFragment<DB>,
{
    fn walk_ast<'b>(
        &'b self,
        out: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> diesel::QueryResult<()> {
        self.fixed.walk_ast(out)
    }
}

/// No static id, as [`Fixed`]: cached by the SQL text.
impl<ST> diesel::query_builder::QueryId for Returning<'_, ST> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<C, ST> diesel::RunQueryDsl<C> for Returning<'_, ST> {}

impl<DB> diesel::query_builder::QueryFragment<DB> for Fixed<'_>
where
    DB: diesel::backend::Backend
        + diesel::sql_types::HasSqlType<diesel::sql_types::Text>
        + diesel::sql_types::HasSqlType<diesel::sql_types::BigInt>,
    str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
    i64: diesel::serialize::ToSql<diesel::sql_types::BigInt, DB>,
    for<'x> Option<&'x str>:
        diesel::serialize::ToSql<diesel::sql_types::Nullable<diesel::sql_types::Text>, DB>,
    Option<i64>:
        diesel::serialize::ToSql<diesel::sql_types::Nullable<diesel::sql_types::BigInt>, DB>,
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> diesel::QueryResult<()> {
        let mut binds = self.binds.iter();
        for (n, part) in self.sql.split('?').enumerate() {
            if n > 0 {
                match binds.next() {
                    Some(Bind::Text(v)) => {
                        out.push_bind_param::<diesel::sql_types::Text, str>(v)?
                    }
                    Some(Bind::BigInt(v)) => {
                        out.push_bind_param::<diesel::sql_types::BigInt, i64>(v)?
                    }
                    Some(Bind::NullableText(v)) => out.push_bind_param::<
                        diesel::sql_types::Nullable<diesel::sql_types::Text>,
                        Option<&str>,
                    >(v)?,
                    Some(Bind::NullableBigInt(v)) => out.push_bind_param::<
                        diesel::sql_types::Nullable<diesel::sql_types::BigInt>,
                        Option<i64>,
                    >(v)?,
                    None => {
                        return Err(diesel::result::Error::QueryBuilderError(
                            "a Fixed statement has more placeholders than binds".into(),
                        ))
                    }
                }
            }
            out.push_sql(part);
        }
        if binds.next().is_some() {
            return Err(diesel::result::Error::QueryBuilderError(
                "a Fixed statement has more binds than placeholders".into(),
            ));
        }
        Ok(())
    }
}

/// No static id: the cache keys these by their SQL text.
impl diesel::query_builder::QueryId for Fixed<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<C> diesel::RunQueryDsl<C> for Fixed<'_> {}

/// Deletes at most `batch` rows of `table` (whose key column is `key`) that match `cond`
/// (SQL with a `?` for each of the binds), as one [`Fixed`] statement: housekeeping's
/// purges, a batch per write. The condition picks the batch in a subquery and stands again
/// outside it, where PostgreSQL checks it once more on a row that another transaction
/// updated while the purge waited for it (a throttle counter a sign-in reserved meanwhile
/// stays), so the binds go in twice.
///
/// `delete_batch!(conn, "audit_events", "id", "at < ?", [Bind::BigInt(before)], batch)`
macro_rules! delete_batch {
    ($conn:expr, $table:literal, $key:literal, $cond:literal, [$($bind:expr),+ $(,)?], $batch:expr) => {{
        let cond = [$($bind),+];
        diesel::RunQueryDsl::execute(
            $crate::db::Fixed::new(
                concat!(
                    "DELETE FROM ", $table, " WHERE (", $cond, ") AND ", $key, " IN (SELECT ",
                    $key, " FROM ", $table, " WHERE ", $cond, " LIMIT ?)"
                ),
                cond.iter()
                    .chain(cond.iter())
                    .copied()
                    .chain([$crate::db::Bind::BigInt($batch)])
                    .collect(),
            ),
            $conn,
        )
    }};
}
pub(crate) use delete_batch;

#[cfg(test)]
mod tests {
    use diesel::connection::{InstrumentationEvent, SimpleConnection};
    use diesel::prelude::*;
    use std::sync::{Arc, Mutex};

    use super::{Bind, Fixed};

    diesel::table! {
        counters (id) {
            id -> Text,
            n -> BigInt,
        }
    }

    /// A `Fixed` statement is prepared once per connection (diesel alone prepares an
    /// UPDATE on every execution), and runs with its binds where the `?` are.
    #[test]
    fn fixed_statements_stay_in_the_statement_cache() {
        let mut c = diesel::SqliteConnection::establish(":memory:").expect("in-memory SQLite");
        c.batch_execute("CREATE TABLE counters (id TEXT PRIMARY KEY, n BIGINT NOT NULL); INSERT INTO counters VALUES ('a', 0), ('b', 0);")
            .expect("table");
        let cached = Arc::new(Mutex::new(Vec::<String>::new()));
        let log = Arc::clone(&cached);
        c.set_instrumentation(move |event: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::CacheQuery { sql, .. } = event {
                log.lock().expect("log").push(sql.to_string());
            }
        });
        for _ in 0..3 {
            let update =
                diesel::update(counters::table.find("a")).set(counters::n.eq(counters::n + 1));
            assert_eq!(update.execute(&mut c), Ok(1));
        }
        assert!(
            cached.lock().expect("log").is_empty(),
            "diesel caches no UPDATE by itself"
        );
        for by in [1, 2, 3] {
            let add = Fixed::new(
                "UPDATE counters SET n = n + ? WHERE id = ?",
                vec![Bind::BigInt(by), Bind::Text("b")],
            );
            assert_eq!(add.execute(&mut c), Ok(1));
        }
        let missing = Fixed::new(
            "UPDATE counters SET n = 0 WHERE id = ?",
            vec![Bind::Text("z")],
        );
        assert_eq!(missing.execute(&mut c), Ok(0));
        // Binds and placeholders that do not pair up are an error, never a statement run
        // with values in the wrong places (`new` also asserts this in debug builds).
        for binds in [vec![], vec![Bind::Text("b"), Bind::Text("b")]] {
            let wrong = Fixed {
                sql: "UPDATE counters SET n = 0 WHERE id = ?",
                binds,
            };
            assert!(matches!(
                wrong.execute(&mut c),
                Err(diesel::result::Error::QueryBuilderError(_))
            ));
        }
        let n: i64 = counters::table
            .find("b")
            .select(counters::n)
            .first(&mut c)
            .expect("n");
        assert_eq!(n, 6, "the binds went where the placeholders are");
        let cached = cached.lock().expect("log");
        let fixed: Vec<&String> = cached.iter().filter(|s| s.starts_with("UPDATE")).collect();
        assert_eq!(fixed.len(), 2, "one entry per statement: {fixed:?}");
    }
}
