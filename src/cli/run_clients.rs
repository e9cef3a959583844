//! `porta client …` and `porta user …`.

use super::*;

pub(super) async fn client_create(settings: Settings, c: ClientCreate) -> Result<(), String> {
    let pool = open(&settings).await?;
    let created = clients::create(
        &pool,
        NewClient {
            name: c.name,
            redirect_uris: c.redirect_uris,
            post_logout_redirect_uris: c.post_logout_redirect_uris,
            public: c.public,
            grant_types: c.grant_types,
            scopes: c.scope.into_iter().collect(),
            skip_consent: c.skip_consent,
            audiences: c.audiences,
            web_origins: c.web_origins,
            lifetimes: clients::Lifetimes {
                access_token_ttl: c.access_token_ttl,
                id_token_ttl: c.id_token_ttl,
                refresh_token_ttl: c.refresh_token_ttl,
                refresh_id_token: !c.no_refresh_id_token,
                access_token_format: c.access_token_format,
            },
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    println!(
        "{}",
        serde_json::to_string_pretty(&created).map_err(|e| e.to_string())?
    );
    Ok(())
}

pub(super) async fn client_list(settings: Settings) -> Result<(), String> {
    let pool = open(&settings).await?;
    let rows = db::run(&pool, |conn| Ok(clients::store::list(conn)?))
        .await
        .map_err(|e| e.to_string())?;
    let list: Vec<_> = rows
        .into_iter()
        .map(clients::Client::from)
        .map(|c| {
            json!({
                "client_id": c.id,
                "name": c.name,
                "public": c.is_public(),
                "redirect_uris": c.redirect_uris,
                "post_logout_redirect_uris": c.post_logout_redirect_uris,
                "grant_types": c.grant_types,
                "scope": c.scopes.join(" "),
                "skip_consent": c.skip_consent,
            })
        })
        .collect();
    println!(
        "{}",
        serde_json::to_string_pretty(&list).map_err(|e| e.to_string())?
    );
    Ok(())
}

pub(super) async fn user_create(
    settings: Settings,
    email: String,
    password_stdin: bool,
    name: Option<String>,
) -> Result<(), String> {
    let password = if password_stdin {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
        let line = text.lines().next().unwrap_or("").to_string();
        if line.is_empty() {
            return Err("no password on stdin".into());
        }
        Some(line)
    } else {
        None
    };
    let pool = open(&settings).await?;
    let user = crate::accounts::create_user(&pool, &email, name, password)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "{}",
        serde_json::to_string_pretty(
            &json!({ "id": user.id, "email": user.email, "name": user.name })
        )
        .map_err(|e| e.to_string())?
    );
    Ok(())
}

pub(super) async fn user_role(
    settings: Settings,
    account: String,
    role: String,
    add: bool,
) -> Result<(), String> {
    let pool = open(&settings).await?;
    let (user, roles) = crate::accounts::change_role(&pool, &account, &role, add)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "{}",
        serde_json::to_string_pretty(
            &json!({ "id": user.id, "email": user.email, "roles": roles })
        )
        .map_err(|e| e.to_string())?
    );
    Ok(())
}
