//! Consultant profiles and services: what the forms may say, who may see what, and the
//! JSON they are shown as.

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::store::{self, Consultant, ProfileChange, Service, Tag};
use super::Config;
use crate::db::DbConn;
use crate::resource::{ApiError, Caller};

/// Longest bio, in characters.
const MAX_BIO: usize = 4000;
/// Longest name, service name or tag.
const MAX_NAME: usize = 100;
/// Most languages or specialities on one profile.
const MAX_TAGS: usize = 20;
/// Highest price in minor units (ten million major units): keeps sums far from overflow.
pub const MAX_PRICE: i64 = 1_000_000_000;
/// Longest appointment a service may describe.
const MAX_DURATION_MINUTES: i64 = 8 * 60;
/// Most services a consultant may offer.
pub const MAX_SERVICES: i64 = 50;

/// Trimmed text of 1..=`max` characters without control characters (newlines and tabs
/// allowed where `multiline`).
pub fn text(field: &str, value: &str, max: usize, multiline: bool) -> Result<String, ApiError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ApiError::InvalidRequest(format!(
            "{field} must not be empty"
        )));
    }
    if value.chars().count() > max {
        return Err(ApiError::InvalidRequest(format!(
            "{field} must be at most {max} characters"
        )));
    }
    let allowed = |c: char| multiline && (c == '\n' || c == '\t' || c == '\r');
    if value.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(ApiError::InvalidRequest(format!(
            "{field} must not contain control characters"
        )));
    }
    Ok(value.to_string())
}

/// An optional reason (decline, cancel): at most 500 characters, blank means none.
pub fn reason(value: Option<&str>) -> Result<Option<String>, ApiError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(r) => text("reason", r, 500, true).map(Some),
    }
}

/// An IANA time zone name known to chrono-tz.
pub fn time_zone(name: &str) -> Result<Tz, ApiError> {
    if name.len() > 64 {
        return Err(ApiError::InvalidRequest("time_zone is too long".into()));
    }
    name.parse::<Tz>().map_err(|_| {
        ApiError::InvalidRequest(format!(
            "time_zone '{name}' is not an IANA time zone (like Europe/Berlin)"
        ))
    })
}

/// A price in minor units and an ISO 4217-shaped currency code.
fn money(price: i64, currency: &str) -> Result<String, ApiError> {
    if !(0..=MAX_PRICE).contains(&price) {
        return Err(ApiError::InvalidRequest(format!(
            "price must be between 0 and {MAX_PRICE} (minor units, e.g. cents)"
        )));
    }
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(ApiError::InvalidRequest(
            "currency must be a three-letter code like EUR".into(),
        ));
    }
    Ok(currency.to_string())
}

/// `PUT /consultants/me`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileForm {
    pub name: String,
    pub bio: String,
    #[serde(default)]
    pub specialities: Vec<String>,
    #[serde(default)]
    pub languages: Vec<String>,
    #[serde(deserialize_with = "crate::resource::whole::number")]
    pub price: i64,
    pub currency: String,
    pub photo: Option<String>,
    pub time_zone: String,
}

impl ProfileForm {
    pub fn parse(self) -> Result<ProfileChange, ApiError> {
        let tags = |field: &str, list: Vec<String>| -> Result<Vec<String>, ApiError> {
            if list.len() > MAX_TAGS {
                return Err(ApiError::InvalidRequest(format!(
                    "at most {MAX_TAGS} {field}"
                )));
            }
            let mut out: Vec<String> = Vec::new();
            for item in list {
                let item = text(field, &item, MAX_NAME, false)?;
                // Duplicates (ignoring case) would collide in the tag table.
                if !out.iter().any(|o| o.to_lowercase() == item.to_lowercase()) {
                    out.push(item);
                }
            }
            Ok(out)
        };
        let languages = tags("languages", self.languages)?;
        if let Some(bad) = languages
            .iter()
            .find(|l| l.len() > 35 || !l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        {
            return Err(ApiError::InvalidRequest(format!(
                "language '{bad}' is not a language tag like en or pt-BR"
            )));
        }
        let photo = match self.photo.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(p) => Some(photo_url(p)?),
        };
        Ok(ProfileChange {
            name: text("name", &self.name, MAX_NAME, false)?,
            bio: text("bio", &self.bio, MAX_BIO, true)?,
            currency: money(self.price, &self.currency)?,
            price: self.price,
            photo,
            time_zone: time_zone(&self.time_zone)?.name().to_string(),
            languages,
            specialities: tags("specialities", self.specialities)?,
        })
    }
}

/// An absolute http(s) URL: anything else (javascript:, data:) must not reach a page.
fn photo_url(value: &str) -> Result<String, ApiError> {
    let bad = || ApiError::InvalidRequest("photo must be an http or https URL".into());
    if value.len() > 2048 {
        return Err(ApiError::InvalidRequest(
            "photo must be at most 2048 characters".into(),
        ));
    }
    let url = url::Url::parse(value).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(bad());
    }
    Ok(url.to_string())
}

/// A profile as JSON. Review details and the account only go to the owner and admins.
#[derive(Debug, Serialize)]
pub struct ConsultantView {
    pub id: String,
    pub name: String,
    pub bio: String,
    pub specialities: Vec<String>,
    pub languages: Vec<String>,
    pub price: i64,
    pub currency: String,
    pub photo: Option<String>,
    pub time_zone: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejection_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// When and by whom (an admin's token subject) the profile was last reviewed; shown to
    /// the owner and admins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reviewed_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reviewed_by: Option<String>,
}

impl ConsultantView {
    /// `private`: shown to the owner or an admin.
    pub fn new(c: Consultant, tags: &[Tag], private: bool) -> ConsultantView {
        let of = |kind: &str| {
            tags.iter()
                .filter(|t| t.consultant_id == c.id && t.kind == kind)
                .map(|t| t.label.clone())
                .collect()
        };
        ConsultantView {
            specialities: of("speciality"),
            languages: of("language"),
            rejection_reason: c.rejection_reason.filter(|_| private),
            subject: Some(c.subject).filter(|_| private),
            reviewed_at: c.reviewed_at.filter(|_| private),
            reviewed_by: c.reviewed_by.filter(|_| private),
            id: c.id,
            name: c.name,
            bio: c.bio,
            price: c.price,
            currency: c.currency,
            photo: c.photo,
            time_zone: c.time_zone,
            status: c.status,
        }
    }
}

/// Profiles with their tags, as JSON.
pub fn views(
    conn: &mut DbConn,
    list: Vec<Consultant>,
    private: bool,
) -> Result<Vec<ConsultantView>, ApiError> {
    let ids: Vec<String> = list.iter().map(|c| c.id.clone()).collect();
    let tags = store::tags_of(conn, &ids)?;
    Ok(list
        .into_iter()
        .map(|c| ConsultantView::new(c, &tags, private))
        .collect())
}

/// True when `caller` may see `c` whatever its review state.
pub fn is_private_to(c: &Consultant, caller: &Caller) -> bool {
    (caller.is_person() && c.subject == caller.subject) || caller.has_role("admin")
}

/// The consultant `id` as `caller` may see it: approved ones to everybody, others only
/// to their owner and admins (404 otherwise, so pending profiles cannot be probed).
pub fn visible(conn: &mut DbConn, id: &str, caller: &Caller) -> Result<Consultant, ApiError> {
    match store::consultant(conn, id)? {
        Some(c) if c.status == "approved" || is_private_to(&c, caller) => Ok(c),
        _ => Err(ApiError::NotFound("no such consultant".into())),
    }
}

/// The caller's own profile (404 until they create one).
pub fn own(conn: &mut DbConn, caller: &Caller) -> Result<Consultant, ApiError> {
    store::consultant_of(conn, &caller.subject)?.ok_or_else(|| {
        ApiError::NotFound(
            "you have no consultant profile yet: PUT /api/bookings/consultants/me".into(),
        )
    })
}

/// `POST /consultants/me/services`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceForm {
    pub name: String,
    #[serde(deserialize_with = "crate::resource::whole::number")]
    pub duration_minutes: i64,
    #[serde(deserialize_with = "crate::resource::whole::number")]
    pub price: i64,
    pub currency: String,
    /// The service's category (see `GET /categories`).
    pub category_id: Option<String>,
}

impl ServiceForm {
    pub fn parse(
        self,
        consultant_id: &str,
        config: &Config,
        now: i64,
    ) -> Result<Service, ApiError> {
        let d = self.duration_minutes;
        if d <= 0 || d > MAX_DURATION_MINUTES || d % config.slot_minutes != 0 {
            return Err(ApiError::InvalidRequest(format!(
                "duration_minutes must be a multiple of {} between {} and {MAX_DURATION_MINUTES}",
                config.slot_minutes, config.slot_minutes
            )));
        }
        Ok(Service {
            id: crate::bookings::new_id(),
            consultant_id: consultant_id.to_string(),
            name: text("name", &self.name, MAX_NAME, false)?,
            duration_minutes: d,
            currency: money(self.price, &self.currency)?,
            price: self.price,
            active: true,
            created_at: now,
            category_id: self.category_id,
        })
    }
}

#[derive(Debug, Serialize)]
pub struct ServiceView {
    pub id: String,
    pub consultant_id: String,
    pub name: String,
    pub duration_minutes: i64,
    pub price: i64,
    pub currency: String,
    pub category_id: Option<String>,
}

impl From<Service> for ServiceView {
    fn from(s: Service) -> ServiceView {
        ServiceView {
            id: s.id,
            consultant_id: s.consultant_id,
            name: s.name,
            duration_minutes: s.duration_minutes,
            price: s.price,
            currency: s.currency,
            category_id: s.category_id,
        }
    }
}
