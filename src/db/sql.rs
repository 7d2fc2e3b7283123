//! A statement written as text for either database: its values are bound, never spliced in, and
//! their placeholders follow the database (`?` on SQLite, `$1` on PostgreSQL).

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::DbConnection;
use crate::error::AppError;

pub enum Bind {
    Text(String),
    Int(i64),
    Time(chrono::NaiveDateTime),
}

pub struct Sql {
    pub pg: bool,
    pub text: String,
    binds: Vec<Bind>,
}

impl Sql {
    pub fn new(conn: &DbConnection) -> Sql {
        Sql { pg: matches!(conn, DbConnection::Postgresql(_)), text: String::new(), binds: Vec::new() }
    }

    pub fn push(&mut self, s: &str) -> &mut Sql {
        self.text.push_str(s);
        self
    }

    pub fn bind(&mut self, bind: Bind) -> &mut Sql {
        self.binds.push(bind);
        let placeholder = if self.pg { format!("${}", self.binds.len()) } else { "?".to_owned() };
        self.push(&placeholder)
    }

    pub fn load<T>(self, conn: &mut DbConnection) -> Result<Vec<T>, AppError>
    where
        T: diesel::deserialize::QueryableByName<diesel::sqlite::Sqlite>
            + diesel::deserialize::QueryableByName<diesel::pg::Pg>
            + 'static,
    {
        macro_rules! run {
            ($conn:expr, $db:ty) => {{
                let mut q = diesel::sql_query(self.text).into_boxed::<$db>();
                for b in self.binds {
                    q = match b {
                        Bind::Text(s) => q.bind::<Text, _>(s),
                        Bind::Int(i) => q.bind::<BigInt, _>(i),
                        Bind::Time(t) => q.bind::<diesel::sql_types::Timestamp, _>(t),
                    };
                }
                q.load::<T>($conn)?
            }};
        }
        Ok(match conn {
            DbConnection::Sqlite(c) => run!(c, diesel::sqlite::Sqlite),
            DbConnection::Postgresql(c) => run!(c, diesel::pg::Pg),
        })
    }
}

/// A count, or any one number, a statement answers as `n`.
#[derive(QueryableByName)]
pub struct Number {
    #[diesel(sql_type = BigInt)]
    pub n: i64,
}

/// A LIKE pattern that finds a text anywhere, lower-cased, its wildcards escaped (a search for
/// "50%" finds "50%").
pub fn like_pattern(search: &str) -> String {
    format!("%{}%", like_escaped(&search.trim().to_lowercase()))
}

pub fn like_escaped(text: &str) -> String {
    let mut p = String::new();
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(super::like_pattern(" 50%_Off "), "%50\\%\\_off%");
    }
}
