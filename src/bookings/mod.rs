//! Bookings: a consultation marketplace API under `/api/bookings`. Owns consultant profiles
//! and their review, services, working hours in the consultant's time zone, free slots, and
//! appointments with their states. Knows callers only from access tokens (`resource`).

mod appointments;
mod hours;
mod notices;
mod profiles;
mod routes;
mod slots;
mod store;

use actix_web::web;

pub use notices::{spawn_worker, Notices};

use crate::resource::{self, ApiError};

/// Settings of the bookings module.
#[derive(Debug, Clone)]
pub struct Config {
    /// A person may cancel a confirmed or requested appointment up to this many seconds
    /// before it starts; later only the consultant or an admin may.
    pub cancel_notice: i64,
    /// Slot grid in minutes: availability, service durations and start times align to it.
    pub slot_minutes: i64,
    /// Most appointments one person may have waiting in `requested` at once (requests
    /// hold the consultant's time until answered, so this stops one account from
    /// blocking calendars).
    pub max_open_requests: i64,
    /// Porta's admin API with this module's service account: a review gives or takes the
    /// `consultant` role and sets the status attribute. `None`: reviews stay local.
    pub accounts: Option<std::sync::Arc<crate::resource::AccountsApi>>,
    /// The custom attribute that carries the review status (`None`: none is set).
    pub status_attribute: Option<String>,
    /// Where consultants' documents are kept (private: never served but by signed link).
    pub documents_dir: std::path::PathBuf,
    /// Largest document, in bytes.
    pub document_max_bytes: u64,
    /// HMAC key of documents' signed links.
    pub documents_key: Vec<u8>,
    /// Life of a document's signed link, in seconds.
    pub document_url_ttl: i64,
    /// Appointment emails; `None`: none are queued.
    pub notices: Option<Notices>,
}

impl Config {
    /// Wakes this node's notification worker after a change queued rows.
    fn wake_notices(&self) {
        if let Some(n) = &self.notices {
            n.wake.notify_one();
        }
    }
}

/// Appointments hold their time in blocks of this many seconds. Five minutes divides every
/// allowed slot length, so the blocks of two overlapping appointments always collide in
/// the database, even across a change of `slot_minutes`.
const BLOCK_SECONDS: i64 = 300;

/// A failed write as the API answers it. SQLite gives up waiting for another writer after
/// its busy timeout ("database is locked"), PostgreSQL may refuse a transaction that raced
/// another: both are worth a retry, so 503 rather than a 500 that would page somebody.
/// A fresh id for a new row: a version 7 UUID, which this process hands out in creation
/// order, so lists sorted "oldest first" (`created_at`, then `id`) keep rows made within
/// the same second in the order they were made.
fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

fn write_error(e: diesel::result::Error) -> ApiError {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => busy(),
        // A row the write names (a category, a consultant) was deleted between the
        // request's check and its write.
        Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => ApiError::Conflict(
            "something this change refers to was removed meanwhile; reload and try again".into(),
        ),
        Error::DatabaseError(_, ref info)
            if ["database is locked", "database table is locked"]
                .iter()
                .any(|m| info.message().contains(m)) =>
        {
            busy()
        }
        e => e.into(),
    }
}

fn busy() -> ApiError {
    ApiError::Unavailable("too many changes at once, try again".into())
}

/// The module's routes. `me` routes come before `{id}` routes, which would match them too.
/// The scopes this API knows, in plain words for the consent page.
pub const SCOPES: &[(&str, &str)] = &[
    ("bookings:read", "See consultants and your appointments"),
    (
        "bookings:write",
        "Book, confirm and cancel appointments for you",
    ),
];

pub fn scope(config: Config) -> actix_web::Scope {
    use routes::{admin::*, appointments::*, categories::*, consultants::*, documents::*};
    use web::{delete, get, post, put, resource as at};
    resource::api_scope("/api/bookings")
        .app_data(web::Data::new(config))
        // Service categories.
        .service(at("/categories").route(get().to(list_categories)))
        // Consultants: profiles, services, hours (the caller's own under `me`).
        .service(at("/consultants").route(get().to(list_consultants)))
        .service(
            at("/consultants/me")
                .route(get().to(get_my_profile))
                .route(put().to(put_my_profile)),
        )
        .service(
            at("/consultants/me/services")
                .route(get().to(list_my_services))
                .route(post().to(create_service)),
        )
        .service(at("/consultants/me/services/{id}").route(delete().to(delete_service)))
        .service(
            at("/consultants/me/availability")
                .route(get().to(get_availability))
                .route(put().to(put_availability)),
        )
        .service(
            at("/consultants/me/exceptions")
                .route(get().to(list_exceptions))
                .route(post().to(create_exception)),
        )
        .service(at("/consultants/me/exceptions/{id}").route(delete().to(delete_exception)))
        .service(
            at("/consultants/me/documents")
                .route(get().to(list_my_documents))
                .route(post().to(upload_document)),
        )
        .service(at("/consultants/me/documents/{id}").route(delete().to(delete_my_document)))
        // A document by its signed link (no token: the signature is the credential).
        .service(at("/documents/{id}").route(get().to(serve_document)))
        .service(at("/consultants/{id}").route(get().to(get_consultant)))
        .service(at("/consultants/{id}/services").route(get().to(list_services)))
        .service(at("/consultants/{id}/slots").route(get().to(list_slots)))
        // Appointments.
        .service(
            at("/appointments")
                .route(get().to(list_appointments))
                .route(post().to(create_appointment)),
        )
        .service(at("/appointments/{id}").route(get().to(get_appointment)))
        .service(at("/appointments/{id}/confirm").route(post().to(confirm_appointment)))
        .service(at("/appointments/{id}/decline").route(post().to(decline_appointment)))
        .service(at("/appointments/{id}/complete").route(post().to(complete_appointment)))
        .service(at("/appointments/{id}/cancel").route(post().to(cancel_appointment)))
        // Administration.
        .service(at("/admin/consultants").route(get().to(admin_list_consultants)))
        .service(at("/admin/consultants/{id}/approve").route(post().to(approve_consultant)))
        .service(at("/admin/consultants/{id}/reject").route(post().to(reject_consultant)))
        .service(at("/admin/consultants/{id}/documents").route(get().to(admin_list_documents)))
        .service(at("/admin/appointments").route(get().to(admin_list_appointments)))
        .service(at("/admin/categories").route(post().to(create_category)))
        .service(
            at("/admin/categories/{id}")
                .route(put().to(update_category))
                .route(delete().to(delete_category)),
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::result::{DatabaseErrorKind, Error};

    fn db(kind: DatabaseErrorKind, message: &str) -> Error {
        Error::DatabaseError(kind, Box::new(message.to_string()))
    }

    #[test]
    fn new_ids_sort_in_the_order_they_were_made() {
        // Rows made within one second are listed by id: it must follow creation.
        let ids: Vec<String> = (0..1000).map(|_| new_id()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(sorted, ids);
        assert!(
            ids.iter().all(|id| id.len() == 32),
            "32 hex digits, as before"
        );
    }

    #[test]
    fn races_are_409_or_503_not_500() {
        let conflict = write_error(db(
            DatabaseErrorKind::ForeignKeyViolation,
            "FOREIGN KEY constraint failed",
        ));
        assert!(matches!(conflict, ApiError::Conflict(_)), "{conflict:?}");
        let busy = write_error(db(DatabaseErrorKind::Unknown, "database is locked"));
        assert!(matches!(busy, ApiError::Unavailable(_)), "{busy:?}");
        let raced = write_error(db(
            DatabaseErrorKind::SerializationFailure,
            "could not serialize",
        ));
        assert!(matches!(raced, ApiError::Unavailable(_)), "{raced:?}");
    }
}
