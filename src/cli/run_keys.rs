//! `porta keys list|rotate|rewrap`.

use super::*;

pub(super) async fn keys_list(settings: Settings) -> Result<(), String> {
    let pool = open(&settings).await?;
    if !crate::keys::store::active_exists(&pool)
        .await
        .map_err(|e| e.to_string())?
    {
        // First use: make the first key so the list is never empty.
        let master = app::master_key(&settings).map_err(|e| e.to_string())?;
        crate::keys::KeyRing::load(&pool, &master)
            .await
            .map_err(|e| e.to_string())?;
    }
    print_keys(&settings, &pool).await
}

pub(super) async fn print_keys(settings: &Settings, pool: &db::DbPool) -> Result<(), String> {
    let rows = db::run(pool, |conn| Ok(crate::keys::store::list(conn)?))
        .await
        .map_err(|e| e.to_string())?;
    let list: Vec<_> = rows
        .iter()
        .map(|k| crate::keys::describe(k, settings))
        .collect();
    println!(
        "{}",
        serde_json::to_string_pretty(&list).map_err(|e| e.to_string())?
    );
    Ok(())
}

pub(super) async fn keys_rotate(
    settings: Settings,
    now: bool,
    revoke: Option<String>,
) -> Result<(), String> {
    use crate::keys::rotation;
    let pool = open(&settings).await?;
    let master = app::master_key(&settings).map_err(|e| e.to_string())?;
    crate::keys::KeyRing::load(&pool, &master)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(kid) = revoke {
        if !rotation::revoke(&pool, &master, &kid)
            .await
            .map_err(|e| e.to_string())?
        {
            return Err(format!("no signing key with kid {kid}"));
        }
        eprintln!(
            "revoked {kid}; running nodes drop it within key_check_interval ({} s)",
            settings.keys.key_check_interval
        );
    } else if now {
        let kid = rotation::rotate_now(&pool, &master)
            .await
            .map_err(|e| e.to_string())?;
        eprintln!(
            "{kid} signs now; running nodes switch within key_check_interval ({} s)",
            settings.keys.key_check_interval
        );
    } else {
        let schedule = rotation::Schedule::from_settings(&settings);
        let (key, created) = rotation::publish_next(&pool, &master, schedule)
            .await
            .map_err(|e| e.to_string())?;
        if created {
            eprintln!(
                "published {} as next; it signs from {}",
                key.kid, key.activates_at
            );
        } else {
            eprintln!(
                "{} is already waiting as next; it signs from {}",
                key.kid, key.activates_at
            );
        }
    }
    print_keys(&settings, &pool).await
}

pub(super) async fn keys_rewrap(settings: Settings, new_master_key: String) -> Result<(), String> {
    let new_text = if new_master_key == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot read the new key from stdin: {e}"))?;
        text.trim().to_string()
    } else {
        new_master_key
    };
    let new = crate::crypto::MasterKey::parse(&new_text)
        .map_err(|e| format!("invalid --new-master-key: {e}"))?;
    let pool = open(&settings).await?;
    let old = app::master_key(&settings).map_err(|e| e.to_string())?;
    let n = app::rewrap_master_key(&pool, &old, &new)
        .await
        .map_err(|e| e.to_string())?;
    if settings.keys.master_key.is_none() && !settings.is_postgres() {
        // The embedded default keeps the key in a file: replace it too.
        let path = settings.server.data_dir.join("master.key");
        std::fs::write(&path, &new_text).map_err(|e| {
            format!(
                "re-encrypted {n} keys but could not write {}: {e}",
                path.display()
            )
        })?;
        eprintln!(
            "re-encrypted {n} secrets; {} now holds the new master key",
            path.display()
        );
    } else {
        eprintln!("re-encrypted {n} secrets; set PORTA_MASTER_KEY to the new key on every node before restarting");
    }
    Ok(())
}
