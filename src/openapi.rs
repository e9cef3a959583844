//! The OpenAPI 3.1 document of the APIs that run: a base with the security schemes,
//! merged with each module's own description (`src/<module>/openapi.json`).

use serde_json::{json, Map, Value};

use crate::config::Settings;

const BOOKINGS: &str = include_str!("bookings/openapi.json");
const CONTENT: &str = include_str!("content/openapi.json");

/// The document served at `/api/openapi.json`.
pub fn document(settings: &Settings, bookings: bool, content: bool) -> Value {
    let issuer = settings.resource_issuer();
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Porta APIs: bookings and content",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Resource servers that accept Porta access tokens (RFC 9068 JWTs, RS256). Send `Authorization: Bearer <token>`. Token problems answer RFC 6750 errors: 401 with `WWW-Authenticate: Bearer error=\"invalid_token\"`, 403 `insufficient_scope`."
        },
        "servers": [{ "url": if settings.runs("idp") { settings.server.issuer.clone() } else { String::from("/") } }],
        "paths": {},
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "oauth2",
                    "description": "Access tokens from Porta's token endpoint; the `roles` scope adds the person's roles.",
                    "flows": {
                        "authorizationCode": {
                            "authorizationUrl": format!("{issuer}/authorize"),
                            "tokenUrl": format!("{issuer}/token"),
                            "scopes": scopes()
                        },
                        "clientCredentials": {
                            "tokenUrl": format!("{issuer}/token"),
                            "scopes": scopes()
                        }
                    }
                }
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "error_description"],
                    "properties": {
                        "error": { "type": "string", "examples": ["invalid_token", "insufficient_scope", "forbidden", "invalid_request", "not_found", "conflict"] },
                        "error_description": { "type": "string" }
                    }
                }
            }
        }
    });
    for (on, fragment) in [(bookings, BOOKINGS), (content, CONTENT)] {
        if on {
            merge(&mut doc, fragment);
        }
    }
    // A consultant's time zone is any name the time-zone database (chrono-tz) knows: the
    // document lists exactly those.
    if let Some(zone) = doc.pointer_mut("/components/schemas/ConsultantInput/properties/time_zone")
    {
        let names: Vec<&str> = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect();
        zone["enum"] = json!(names);
    }
    if let Some(zone) =
        doc.pointer_mut("/components/schemas/ContentPreferencesInput/properties/time_zone")
    {
        let names: Vec<&str> = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect();
        zone["enum"] = json!(names);
    }
    doc
}

fn scopes() -> Value {
    json!({
        "roles": "The person's roles in the `roles` claim",
        "bookings:read": "See consultants, slots and your appointments",
        "bookings:write": "Book, confirm and cancel appointments; manage your consultant profile",
        "content:read": "Browse the library and get media links",
        "content:write": "Save progress and bookmarks; manage the catalogue (admins)"
    })
}

/// Adds a module's `paths` and `components.schemas` to the document.
fn merge(doc: &mut Value, fragment: &str) {
    let Ok(fragment) = serde_json::from_str::<Value>(fragment) else {
        tracing::error!("a module's OpenAPI fragment is not JSON");
        return;
    };
    for (section, target) in [("paths", "/paths"), ("schemas", "/components/schemas")] {
        let source = match section {
            "paths" => fragment.get("paths"),
            _ => fragment.pointer("/components/schemas"),
        };
        if let (Some(Value::Object(items)), Some(Value::Object(into))) =
            (source, doc.pointer_mut(target))
        {
            let into: &mut Map<String, Value> = into;
            for (k, v) in items {
                into.insert(k.clone(), v.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_time_zones_are_the_ones_the_api_takes() {
        let doc = super::document(&crate::config::Settings::default(), true, false);
        let zones = doc
            .pointer("/components/schemas/ConsultantInput/properties/time_zone/enum")
            .and_then(|v| v.as_array())
            .expect("an enum of zones");
        assert!(zones.len() > 400);
        assert!(zones.iter().any(|z| z == "Europe/Lisbon"));
        for z in zones {
            let name = z.as_str().unwrap();
            assert!(
                name.parse::<chrono_tz::Tz>().is_ok() && name.len() <= 64,
                "{name}"
            );
        }
    }
}
