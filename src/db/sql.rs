//! A SQL text with its arguments, built once and run on either backend.

use sqlx::postgres::PgArguments;
use sqlx::query::{Query, QueryAs, QueryScalar};
use sqlx::sqlite::SqliteArguments;
use sqlx::{Postgres, Sqlite};

/// A bind value. Nulls carry their type because PostgreSQL needs it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(Option<String>),
    Int(Option<i64>),
    Float(Option<f64>),
    Bool(bool),
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(Some(v.to_string()))
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(Some(v))
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(Some(v.clone()))
    }
}
impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Self {
        Value::Text(v)
    }
}
impl From<Option<&str>> for Value {
    fn from(v: Option<&str>) -> Self {
        Value::Text(v.map(str::to_string))
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(Some(v))
    }
}
impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Self {
        Value::Int(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(Some(v))
    }
}
impl From<Option<f64>> for Value {
    fn from(v: Option<f64>) -> Self {
        Value::Float(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

/// SQL with `$1`, `$2`, ... placeholders (both SQLite and PostgreSQL read them).
#[derive(Debug, Clone, Default)]
pub struct Sql {
    pub text: String,
    pub args: Vec<Value>,
}

impl Sql {
    pub fn new(text: impl Into<String>) -> Sql {
        Sql {
            text: text.into(),
            args: Vec::new(),
        }
    }

    /// Adds an argument in placeholder order.
    pub fn bind(mut self, v: impl Into<Value>) -> Sql {
        self.args.push(v.into());
        self
    }

    /// Appends an argument and returns its placeholder (`$n`), for building filters.
    pub fn arg(&mut self, v: impl Into<Value>) -> String {
        self.args.push(v.into());
        format!("${}", self.args.len())
    }

    pub fn push(&mut self, text: &str) -> &mut Sql {
        self.text.push_str(text);
        self
    }

    /// Appends ` AND (…)`: any of `columns` contains `q`, case-insensitively, with `%`, `_` and
    /// `\` in `q` taken literally. The text search of every list.
    pub fn push_contains(&mut self, q: &str, columns: &[&str]) -> &mut Sql {
        let escaped = q
            .trim()
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let p = self.arg(format!("%{escaped}%"));
        let any: Vec<String> = columns
            .iter()
            .map(|c| format!("LOWER({c}) LIKE {p} ESCAPE '\\'"))
            .collect();
        self.push(&format!(" AND ({})", any.join(" OR ")))
    }
}

macro_rules! binder {
    ($name:ident, $ty:ty) => {
        pub(crate) fn $name<'q>(mut q: $ty, args: &[Value]) -> $ty {
            for a in args {
                q = match a {
                    Value::Text(v) => q.bind(v.clone()),
                    Value::Int(v) => q.bind(*v),
                    Value::Float(v) => q.bind(*v),
                    Value::Bool(v) => q.bind(*v),
                };
            }
            q
        }
    };
    ($name:ident, $ty:ty, $g:ident) => {
        pub(crate) fn $name<'q, $g>(mut q: $ty, args: &[Value]) -> $ty {
            for a in args {
                q = match a {
                    Value::Text(v) => q.bind(v.clone()),
                    Value::Int(v) => q.bind(*v),
                    Value::Float(v) => q.bind(*v),
                    Value::Bool(v) => q.bind(*v),
                };
            }
            q
        }
    };
}

binder!(bind_sqlite, Query<'q, Sqlite, SqliteArguments<'q>>);
binder!(bind_pg, Query<'q, Postgres, PgArguments>);
binder!(
    bind_sqlite_as,
    QueryAs<'q, Sqlite, T, SqliteArguments<'q>>,
    T
);
binder!(bind_pg_as, QueryAs<'q, Postgres, T, PgArguments>, T);
binder!(
    bind_sqlite_scalar,
    QueryScalar<'q, Sqlite, T, SqliteArguments<'q>>,
    T
);
binder!(bind_pg_scalar, QueryScalar<'q, Postgres, T, PgArguments>, T);
