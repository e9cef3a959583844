//! `porta user list|show|update|disable|…`, `porta role …`, `porta permission …`: the
//! admin API's operations from a shell on the server, audited as `actor=cli`.

use super::*;
use crate::accounts::store::{Changes, Search};
use crate::admin::apps::{self, Apps};
use crate::admin::people::{self, Acting, Update};
use crate::clients::ClientChanges;
use serde_json::Value;

/// Prints `value` as pretty JSON, or as text: `key: value` lines for one thing, one line
/// per item for a list.
fn print(value: &Value, out: Output) -> Result<(), String> {
    if out.json {
        println!(
            "{}",
            serde_json::to_string_pretty(value).map_err(|e| e.to_string())?
        );
        return Ok(());
    }
    let list = match value {
        Value::Array(items) => Some(items),
        Value::Object(map) if map.len() <= 5 => map
            .values()
            .find_map(Value::as_array)
            .filter(|items| items.iter().all(Value::is_object)),
        _ => None,
    };
    match (list, value) {
        (Some(items), _) => {
            for item in items {
                println!("{}", one_line(item));
            }
            if let Some(total) = value.get("total") {
                println!("({} of {total})", items.len());
            }
        }
        (None, Value::Object(map)) => {
            for (key, v) in map {
                println!("{key}: {}", scalar(v));
            }
        }
        (None, other) => println!("{}", scalar(other)),
    }
    Ok(())
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
            items.iter().map(scalar).collect::<Vec<_>>().join(", ")
        }
        other => other.to_string(),
    }
}

fn one_line(item: &Value) -> String {
    match item {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| format!("{k}={}", scalar(v)))
            .collect::<Vec<_>>()
            .join("  "),
        other => scalar(other),
    }
}

fn json_of(v: impl serde::Serialize) -> Result<Value, String> {
    serde_json::to_value(v).map_err(|e| e.to_string())
}

/// `--attribute name=value` pairs as the admin API takes them: the value as JSON when it
/// reads as JSON (a number, true, a list), else as text; `name=` removes it.
fn attribute_changes(pairs: &[String]) -> Result<Option<serde_json::Map<String, Value>>, String> {
    if pairs.is_empty() {
        return Ok(None);
    }
    let mut map = serde_json::Map::new();
    for pair in pairs {
        let (name, value) = pair
            .split_once('=')
            .ok_or_else(|| format!("--attribute {pair:?}: use name=value"))?;
        let value = if value.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_string()))
        };
        map.insert(name.to_string(), value);
    }
    Ok(Some(map))
}

/// `""` clears an optional field; anything else sets it.
fn clearable(v: Option<String>) -> Option<Option<String>> {
    v.map(|s| if s.is_empty() { None } else { Some(s) })
}

pub(super) async fn user_admin(settings: Settings, command: UserCommand) -> Result<(), String> {
    let command = match command {
        UserCommand::Create {
            email,
            password_stdin,
            name,
        } => return user_create(settings, email, password_stdin, name).await,
        UserCommand::Role(RoleCommand::Add { account, role }) => {
            return user_role(settings, account, role, true).await
        }
        UserCommand::Role(RoleCommand::Remove { account, role }) => {
            return user_role(settings, account, role, false).await
        }
        other => other,
    };
    let pool = open(&settings).await?;
    let directory = people::People::new(&pool, &settings);
    let acting = Acting::cli();
    let e = |e: people::AdminError| e.to_string();
    let (value, out) = match command {
        UserCommand::List {
            search,
            role,
            attribute,
            state,
            page,
            per_page,
            out,
        } => {
            if !(1..=1_000_000).contains(&page) || !(1..=1000).contains(&per_page) {
                return Err("--page is 1 or more and --per-page 1 to 1000".into());
            }
            let state = state.unwrap_or_default();
            let disabled = Search::parse_state(&state)
                .map_err(|_| format!("--state {state:?}: use active or disabled"))?;
            let attribute = attribute.unwrap_or_default();
            let attribute = Search::parse_attribute(&attribute)
                .map_err(|_| format!("--attribute {attribute:?}: use name:value"))?;
            let search = Search {
                text: search.filter(|s| !s.is_empty()),
                role,
                disabled,
                attribute,
                ..Search::default()
            };
            let (items, total) = people::search(directory, search, (page - 1) * per_page, per_page)
                .await
                .map_err(e)?;
            (
                json!({ "items": json_of(items)?, "page": page, "per_page": per_page, "total": total }),
                out,
            )
        }
        UserCommand::Invite {
            email,
            name,
            roles,
            out,
        } => {
            let master = app::master_key(&settings).map_err(|e| e.to_string())?;
            let outbox = crate::notify::Outbox::new(pool.clone(), master);
            let inviting = people::Inviting {
                outbox: &outbox,
                issuer: &settings.server.issuer,
                ttl: settings.accounts.invitation_ttl,
            };
            (
                people::invite(directory, &acting, inviting, &email, name, roles)
                    .await
                    .map_err(e)?,
                out,
            )
        }
        UserCommand::Show { account, out } => {
            (people::show(directory, &account).await.map_err(e)?, out)
        }
        UserCommand::Update(u) => {
            let u = *u;
            let update = Update {
                changes: Changes {
                    name: clearable(u.name),
                    email: u.email,
                    email_verified: u.email_verified,
                    phone: clearable(u.phone),
                    locale: clearable(u.locale),
                    zoneinfo: clearable(u.zoneinfo),
                },
                roles: (!u.roles.is_empty()).then_some(u.roles),
                attributes: attribute_changes(&u.attributes)?,
            };
            (
                people::update(directory, &acting, &u.account, update)
                    .await
                    .map_err(e)?,
                u.out,
            )
        }
        UserCommand::Disable { account, out } => (
            people::set_disabled(directory, &acting, &account, true)
                .await
                .map_err(e)?,
            out,
        ),
        UserCommand::Enable { account, out } => (
            people::set_disabled(directory, &acting, &account, false)
                .await
                .map_err(e)?,
            out,
        ),
        UserCommand::Delete { account, out } => (
            people::delete(directory, &acting, &account)
                .await
                .map_err(e)?,
            out,
        ),
        UserCommand::RevokeSessions { account, out } => (
            people::end_sessions(directory, &acting, &account)
                .await
                .map_err(e)?,
            out,
        ),
        UserCommand::ResetMfa { account, out } => (
            people::reset_mfa(directory, &acting, &account)
                .await
                .map_err(e)?,
            out,
        ),
        UserCommand::Unlock { account, out } => (
            people::unlock(directory, &acting, &account)
                .await
                .map_err(e)?,
            out,
        ),
        UserCommand::ResetPassword { account, out } => (
            people::reset_password(directory, &acting, &account)
                .await
                .map_err(e)?,
            out,
        ),
        UserCommand::Create { .. } | UserCommand::Role(_) => return Ok(()),
    };
    print(&value, out)
}

pub(super) async fn role_admin(settings: Settings, command: RolesCommand) -> Result<(), String> {
    let pool = open(&settings).await?;
    let directory = people::People::new(&pool, &settings);
    let acting = Acting::cli();
    let e = |e: people::AdminError| e.to_string();
    let (value, out) = match command {
        RolesCommand::Create {
            name,
            description,
            out,
        } => (
            json_of(
                people::create_role(directory, &acting, &name, &description)
                    .await
                    .map_err(e)?,
            )?,
            out,
        ),
        RolesCommand::Delete { name, out } => (
            people::delete_role(directory, &acting, &name)
                .await
                .map_err(e)?,
            out,
        ),
        RolesCommand::List { out } => (
            json!({ "roles": json_of(people::list_roles(directory).await.map_err(e)?)? }),
            out,
        ),
        RolesCommand::Grant {
            role,
            permission,
            out,
        } => (
            json_of(
                people::link(directory, &acting, &role, &permission, true)
                    .await
                    .map_err(e)?,
            )?,
            out,
        ),
        RolesCommand::Revoke {
            role,
            permission,
            out,
        } => (
            json_of(
                people::link(directory, &acting, &role, &permission, false)
                    .await
                    .map_err(e)?,
            )?,
            out,
        ),
    };
    print(&value, out)
}

pub(super) async fn permission_admin(
    settings: Settings,
    command: PermissionCommand,
) -> Result<(), String> {
    let pool = open(&settings).await?;
    let directory = people::People::new(&pool, &settings);
    let acting = Acting::cli();
    let e = |e: people::AdminError| e.to_string();
    let (value, out) = match command {
        PermissionCommand::Create {
            name,
            description,
            out,
        } => (
            people::create_permission(directory, &acting, &name, &description)
                .await
                .map_err(e)?,
            out,
        ),
        PermissionCommand::Delete { name, out } => (
            people::delete_permission(directory, &acting, &name)
                .await
                .map_err(e)?,
            out,
        ),
        PermissionCommand::List { out } => (
            json!({ "permissions": json_of(people::list_permissions(directory).await.map_err(e)?)? }),
            out,
        ),
    };
    print(&value, out)
}

/// `0` puts a lifetime back to the setting.
fn lifetime(v: Option<i64>) -> Option<Option<i64>> {
    v.map(|s| (s != 0).then_some(s))
}

pub(super) async fn client_admin(settings: Settings, command: ClientCommand) -> Result<(), String> {
    let pool = open(&settings).await?;
    let acting = Acting::cli();
    let apps = Apps {
        pool: &pool,
        cache: None,
    };
    let e = |e: people::AdminError| e.to_string();
    let (value, out) = match command {
        ClientCommand::Show { client_id, out } => (
            json_of(apps::show(apps, &client_id).await.map_err(e)?)?,
            out,
        ),
        ClientCommand::Update(u) => {
            let u = *u;
            let changes = ClientChanges {
                name: u.name,
                redirect_uris: u.redirect_uris,
                post_logout_redirect_uris: u.post_logout_redirect_uris,
                grant_types: u.grant_types,
                scopes: u.scope.map(|s| vec![s]),
                skip_consent: u.skip_consent,
                audiences: u.audiences,
                web_origins: u.web_origins,
                access_token_ttl: lifetime(u.access_token_ttl),
                id_token_ttl: lifetime(u.id_token_ttl),
                refresh_token_ttl: lifetime(u.refresh_token_ttl),
                refresh_id_token: u.refresh_id_token,
                access_token_format: u.access_token_format,
            };
            (
                json_of(
                    apps::update(apps, &acting, &u.client_id, changes)
                        .await
                        .map_err(e)?,
                )?,
                u.out,
            )
        }
        ClientCommand::RotateSecret {
            client_id,
            grace,
            out,
        } => {
            let most = settings.tokens.client_secret_grace;
            let grace = grace.unwrap_or(most);
            if !(0..=most).contains(&grace) {
                return Err(format!("--grace must be 0 to {most} (client_secret_grace)"));
            }
            (
                apps::rotate_secret(apps, &acting, &client_id, grace)
                    .await
                    .map_err(e)?,
                out,
            )
        }
        ClientCommand::Disable { client_id, out } => (
            json_of(
                apps::set_disabled(apps, &acting, &client_id, true)
                    .await
                    .map_err(e)?,
            )?,
            out,
        ),
        ClientCommand::Enable { client_id, out } => (
            json_of(
                apps::set_disabled(apps, &acting, &client_id, false)
                    .await
                    .map_err(e)?,
            )?,
            out,
        ),
        ClientCommand::Delete { client_id, out } => (
            apps::delete(apps, &acting, &client_id).await.map_err(e)?,
            out,
        ),
        ClientCommand::Create(_) | ClientCommand::List => return Ok(()),
    };
    print(&value, out)
}

/// `porta attribute list`: the custom attributes the settings declare.
pub(super) async fn attribute_list(settings: Settings, out: Output) -> Result<(), String> {
    print(
        &json!({ "attributes": json_of(&settings.attributes.attributes)? }),
        out,
    )
}
