//! Custom attributes of accounts, declared in settings (`[[attributes]]`): each value is
//! checked against its declaration on every write, stored as JSON text, and released in
//! tokens and userinfo under its claim when the grant has its scope.

use std::collections::BTreeMap;

use diesel::prelude::*;
use serde_json::{Map, Value};

use crate::config::{AttributeEditor, AttributeKind, AttributeSpec};
use crate::db::schema::account_attributes as aa;
use crate::db::DbConn;

/// Most items in a list attribute.
pub const MAX_ITEMS: usize = 50;

/// Who is writing: the person (only attributes they may edit) or an administrator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    Person,
    Admin,
}

/// Checks `value` against `spec`; the value to store (strings trimmed), or why not.
pub fn check(spec: &AttributeSpec, value: &Value) -> Result<Value, String> {
    let name = &spec.name;
    let text = |v: &Value| -> Result<String, String> {
        let s = v
            .as_str()
            .ok_or_else(|| format!("{name} takes text"))?
            .trim()
            .to_string();
        if s.is_empty() || s.chars().count() > spec.max_length || s.chars().any(char::is_control) {
            return Err(format!(
                "{name} is 1 to {} characters, without control characters",
                spec.max_length
            ));
        }
        if !spec.values.is_empty() && !spec.values.contains(&s) {
            return Err(format!("{name} is one of: {}", spec.values.join(", ")));
        }
        Ok(s)
    };
    match spec.kind {
        AttributeKind::String | AttributeKind::Enum => Ok(Value::String(text(value)?)),
        AttributeKind::Number => match value {
            Value::Number(n) if n.as_f64().is_some_and(f64::is_finite) => Ok(value.clone()),
            _ => Err(format!("{name} takes a number")),
        },
        AttributeKind::Boolean => match value {
            Value::Bool(_) => Ok(value.clone()),
            _ => Err(format!("{name} takes true or false")),
        },
        AttributeKind::Date => {
            let s = value
                .as_str()
                .ok_or_else(|| format!("{name} takes a date, YYYY-MM-DD"))?
                .trim();
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .filter(|_| s.len() == 10)
                .map(|_| Value::String(s.to_string()))
                .ok_or_else(|| format!("{name} takes a date, YYYY-MM-DD"))
        }
        AttributeKind::List => {
            let items = value
                .as_array()
                .ok_or_else(|| format!("{name} takes a list of text"))?;
            if items.len() > MAX_ITEMS {
                return Err(format!("{name} holds at most {MAX_ITEMS} items"));
            }
            let mut out: Vec<String> = Vec::with_capacity(items.len());
            for item in items {
                let s = text(item)?;
                if !out.contains(&s) {
                    out.push(s);
                }
            }
            Ok(Value::from(out))
        }
    }
}

/// Why an attribute could not be written.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AttributeError {
    #[error("there is no attribute {0}")]
    Unknown(String),
    #[error("{0} is changed by administrators only")]
    AdminOnly(String),
    #[error("{0}")]
    Invalid(String),
}

impl AttributeError {
    /// What a person is told, in their language (the reason a value is refused stays as
    /// its declaration's check words it).
    pub fn message(&self) -> String {
        use crate::i18n::t1;
        match self {
            AttributeError::Unknown(name) => t1("problem-attribute-unknown", "name", name),
            AttributeError::AdminOnly(name) => t1("problem-attribute-admin-only", "name", name),
            AttributeError::Invalid(m) => m.clone(),
        }
    }
}

/// Checks a set of changes (`null` removes a value) before anything is written; the
/// values to store.
pub fn check_changes(
    specs: &[AttributeSpec],
    changes: &Map<String, Value>,
    writer: Writer,
) -> Result<Vec<(String, Option<Value>)>, AttributeError> {
    let mut out = Vec::with_capacity(changes.len());
    for (name, value) in changes {
        let spec = specs
            .iter()
            .find(|s| &s.name == name)
            .ok_or_else(|| AttributeError::Unknown(name.chars().take(64).collect()))?;
        if writer == Writer::Person && spec.editable_by != AttributeEditor::Person {
            return Err(AttributeError::AdminOnly(name.clone()));
        }
        let stored = match value {
            Value::Null => None,
            v => Some(check(spec, v).map_err(AttributeError::Invalid)?),
        };
        out.push((name.clone(), stored));
    }
    Ok(out)
}

/// The account's stored values, by attribute name.
pub fn all(conn: &mut DbConn, user_id: &str) -> QueryResult<BTreeMap<String, Value>> {
    Ok(aa::table
        .filter(aa::user_id.eq(user_id))
        .select((aa::name, aa::value))
        .load::<(String, String)>(conn)?
        .into_iter()
        .filter_map(|(name, value)| Some((name, serde_json::from_str(&value).ok()?)))
        .collect())
}

/// One attribute's change: its name, the value before and the value after.
pub type Change = (String, Option<Value>, Option<Value>);

/// Writes checked values (`None` removes one); returns each change for the audit log.
pub fn write(
    conn: &mut DbConn,
    user_id: &str,
    values: &[(String, Option<Value>)],
) -> QueryResult<Vec<Change>> {
    crate::db::transaction(conn, |conn| {
        let before = all(conn, user_id)?;
        let mut changed = Vec::new();
        for (name, value) in values {
            let was = before.get(name).cloned();
            if was.as_ref() == value.as_ref() {
                continue;
            }
            diesel::delete(
                aa::table
                    .filter(aa::user_id.eq(user_id))
                    .filter(aa::name.eq(name)),
            )
            .execute(conn)?;
            if let Some(v) = value {
                diesel::insert_into(aa::table)
                    .values((
                        aa::user_id.eq(user_id),
                        aa::name.eq(name),
                        aa::value.eq(v.to_string()),
                        aa::updated_at.eq(crate::time::now()),
                    ))
                    .execute(conn)?;
            }
            changed.push((name.clone(), was, value.clone()));
        }
        Ok(changed)
    })
}

/// The claims that `scopes` release from `values`.
pub fn claims(
    specs: &[AttributeSpec],
    values: &BTreeMap<String, Value>,
    scopes: &[String],
) -> Map<String, Value> {
    specs
        .iter()
        .filter(|s| scopes.iter().any(|g| g == &s.scope))
        .filter_map(|s| Some((s.claim_name().to_string(), values.get(&s.name)?.clone())))
        .collect()
}

/// True when any attribute is released by one of `scopes` (so reading them is worth it).
pub fn released_by(specs: &[AttributeSpec], scopes: &[String]) -> bool {
    specs.iter().any(|s| scopes.iter().any(|g| g == &s.scope))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(kind: AttributeKind, values: &[&str]) -> AttributeSpec {
        AttributeSpec {
            name: "a".into(),
            kind,
            values: values.iter().map(|v| v.to_string()).collect(),
            max_length: 10,
            editable_by: AttributeEditor::Admin,
            scope: "profile".into(),
            claim: None,
            label: None,
        }
    }

    #[test]
    fn values_are_checked_against_their_declaration() {
        let e = spec(AttributeKind::Enum, &["user", "consultant"]);
        assert_eq!(check(&e, &json!(" user ")), Ok(json!("user")));
        assert!(check(&e, &json!("admin")).is_err());
        assert!(check(&e, &json!(1)).is_err());
        let s = spec(AttributeKind::String, &[]);
        assert!(check(&s, &json!("Lisbon")).is_ok());
        assert!(check(&s, &json!("far too long a city")).is_err());
        assert!(check(&s, &json!("a\u{0}b")).is_err());
        assert!(check(&s, &json!("")).is_err());
        let n = spec(AttributeKind::Number, &[]);
        assert_eq!(check(&n, &json!(4.5)), Ok(json!(4.5)));
        assert!(check(&n, &json!("4")).is_err());
        let b = spec(AttributeKind::Boolean, &[]);
        assert!(check(&b, &json!(true)).is_ok() && check(&b, &json!("true")).is_err());
        let d = spec(AttributeKind::Date, &[]);
        assert!(check(&d, &json!("2026-02-28")).is_ok());
        for bad in ["2026-02-30", "2026-2-3", "tomorrow", "2026-02-28T00:00"] {
            assert!(check(&d, &json!(bad)).is_err(), "{bad}");
        }
        let l = spec(AttributeKind::List, &["yoga", "tax", "law"]);
        assert_eq!(
            check(&l, &json!(["tax", "law", "tax"])),
            Ok(json!(["tax", "law"]))
        );
        assert!(check(&l, &json!(["cooking"])).is_err());
        assert!(check(&l, &json!("tax")).is_err());
        let many: Vec<String> = (0..51).map(|i| i.to_string()).collect();
        assert!(check(&spec(AttributeKind::List, &[]), &json!(many)).is_err());
    }

    #[test]
    fn people_change_only_what_they_may() {
        let mut city = spec(AttributeKind::String, &[]);
        city.name = "city".into();
        city.editable_by = AttributeEditor::Person;
        let mut status = spec(AttributeKind::Enum, &["pending", "approved"]);
        status.name = "profile_status".into();
        let specs = vec![city, status];
        let mine = json!({"city": "Porto"});
        assert!(check_changes(&specs, mine.as_object().unwrap(), Writer::Person).is_ok());
        let theirs = json!({"profile_status": "approved"});
        assert_eq!(
            check_changes(&specs, theirs.as_object().unwrap(), Writer::Person),
            Err(AttributeError::AdminOnly("profile_status".into()))
        );
        assert!(check_changes(&specs, theirs.as_object().unwrap(), Writer::Admin).is_ok());
        let unknown = json!({"shoe_size": 42});
        assert!(matches!(
            check_changes(&specs, unknown.as_object().unwrap(), Writer::Admin),
            Err(AttributeError::Unknown(_))
        ));
        let removal = json!({"city": null});
        assert_eq!(
            check_changes(&specs, removal.as_object().unwrap(), Writer::Person).unwrap(),
            vec![("city".to_string(), None)]
        );
    }
}
