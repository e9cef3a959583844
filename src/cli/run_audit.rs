//! `porta audit`: the audit log, newest first.

use super::*;

/// `30m`, `24h`, `7d`, `90s` ago, or a unix timestamp.
pub(super) fn parse_since(text: &str, now: i64) -> Result<i64, String> {
    let bad = || format!("--since {text:?}: use 30m, 24h, 7d or a unix timestamp");
    let (digits, unit) = text.split_at(
        text.trim_end_matches(|c: char| c.is_ascii_alphabetic())
            .len(),
    );
    let n: i64 = digits.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "" => return Ok(n),
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86400,
        _ => return Err(bad()),
    };
    Ok(now - seconds)
}

pub(super) async fn audit(
    settings: Settings,
    account: Option<String>,
    kind: Option<String>,
    since: String,
    limit: i64,
) -> Result<(), String> {
    let since = parse_since(&since, crate::time::now())?;
    if !(1..=10_000).contains(&limit) {
        return Err("--limit must be between 1 and 10000".into());
    }
    let pool = open(&settings).await?;
    let events = db::run(&pool, move |conn| {
        let user_id = match account {
            Some(a) if a.contains('@') => {
                match crate::accounts::store::find_by_email(conn, &a.trim().to_lowercase())? {
                    Some(u) => Some(u.id.into()),
                    None => return Ok(Vec::new()),
                }
            }
            other => other,
        };
        Ok(crate::audit::store::query(
            conn,
            user_id.as_deref(),
            kind.as_deref(),
            since,
            limit,
        )?)
    })
    .await
    .map_err(|e| e.to_string())?;
    println!(
        "{}",
        serde_json::to_string_pretty(&events).map_err(|e| e.to_string())?
    );
    Ok(())
}
