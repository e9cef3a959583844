//! Diesel queries for bookings: profiles and services here, hours and appointments in
//! their own files.

pub mod appointments;
pub mod categories;
pub mod documents;
pub mod hours;
pub mod notices;

use diesel::prelude::*;

use crate::db::schema::booking_consultant_tags as tags;
use crate::db::schema::booking_consultants as bc;
use crate::db::schema::booking_services as sv;
use crate::db::DbConn;

/// A consultant profile row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = bc)]
pub struct Consultant {
    pub id: String,
    /// The person (token `sub`) the profile belongs to.
    pub subject: String,
    pub name: String,
    pub bio: String,
    pub price: i64,
    pub currency: String,
    pub photo: Option<String>,
    pub time_zone: String,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    pub rejection_reason: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub reviewed_at: Option<i64>,
    /// The admin (token subject) who reviewed the profile last.
    pub reviewed_by: Option<String>,
}

/// A language or speciality of a profile.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = tags)]
pub struct Tag {
    pub consultant_id: String,
    /// `language` or `speciality`.
    pub kind: String,
    /// Lower-cased, what filters compare.
    pub tag: String,
    /// As the consultant wrote it.
    pub label: String,
    pub position: i64,
}

/// What a consultant may change in their profile.
#[derive(Debug, Clone)]
pub struct ProfileChange {
    pub name: String,
    pub bio: String,
    pub price: i64,
    pub currency: String,
    pub photo: Option<String>,
    pub time_zone: String,
    pub languages: Vec<String>,
    pub specialities: Vec<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sv)]
pub struct Service {
    pub id: String,
    pub consultant_id: String,
    pub name: String,
    pub duration_minutes: i64,
    pub price: i64,
    pub currency: String,
    pub active: bool,
    pub created_at: i64,
    pub category_id: Option<String>,
}
pub fn consultant(conn: &mut DbConn, id: &str) -> QueryResult<Option<Consultant>> {
    bc::table
        .find(id)
        .select(Consultant::as_select())
        .first(conn)
        .optional()
}

pub fn consultant_of(conn: &mut DbConn, subject: &str) -> QueryResult<Option<Consultant>> {
    bc::table
        .filter(bc::subject.eq(subject))
        .select(Consultant::as_select())
        .first(conn)
        .optional()
}

/// The tags of these consultants, in the order they were written.
pub fn tags_of(conn: &mut DbConn, ids: &[String]) -> QueryResult<Vec<Tag>> {
    tags::table
        .filter(tags::consultant_id.eq_any(ids))
        .order((tags::consultant_id, tags::kind, tags::position))
        .select(Tag::as_select())
        .load(conn)
}

/// Creates or updates the profile of `subject`. A new profile waits for review, and so
/// does a rejected one that was changed; an approved one stays approved.
pub fn save_profile(
    conn: &mut DbConn,
    subject: &str,
    change: &ProfileChange,
    now: i64,
) -> QueryResult<Consultant> {
    crate::db::transaction(conn, |conn| {
        // The update comes first: it locks the row, so concurrent saves replace the tags
        // one after the other (a concurrent first insert fails on `subject` instead).
        let updated = diesel::update(bc::table.filter(bc::subject.eq(subject)))
            .set((
                bc::name.eq(&change.name),
                bc::bio.eq(&change.bio),
                bc::price.eq(change.price),
                bc::currency.eq(&change.currency),
                bc::photo.eq(&change.photo),
                bc::time_zone.eq(&change.time_zone),
                bc::updated_at.eq(now),
            ))
            .execute(conn)?;
        if updated == 0 {
            diesel::insert_into(bc::table)
                .values(&Consultant {
                    id: crate::bookings::new_id(),
                    subject: subject.to_string(),
                    name: change.name.clone(),
                    bio: change.bio.clone(),
                    price: change.price,
                    currency: change.currency.clone(),
                    photo: change.photo.clone(),
                    time_zone: change.time_zone.clone(),
                    status: "pending".into(),
                    rejection_reason: None,
                    created_at: now,
                    updated_at: now,
                    reviewed_at: None,
                    reviewed_by: None,
                })
                .execute(conn)?;
        } else {
            diesel::update(
                bc::table
                    .filter(bc::subject.eq(subject))
                    .filter(bc::status.eq("rejected")),
            )
            .set((
                bc::status.eq("pending"),
                bc::rejection_reason.eq(None::<String>),
            ))
            .execute(conn)?;
        }
        let saved = bc::table
            .filter(bc::subject.eq(subject))
            .select(Consultant::as_select())
            .first(conn)?;
        diesel::delete(tags::table.filter(tags::consultant_id.eq(&saved.id))).execute(conn)?;
        let rows: Vec<Tag> = [
            ("language", &change.languages),
            ("speciality", &change.specialities),
        ]
        .into_iter()
        .flat_map(|(kind, labels)| {
            labels.iter().enumerate().map(|(i, label)| Tag {
                consultant_id: saved.id.clone(),
                kind: kind.into(),
                tag: label.to_lowercase(),
                label: label.clone(),
                position: i as i64,
            })
        })
        .collect();
        for row in &rows {
            diesel::insert_into(tags::table).values(row).execute(conn)?;
        }
        Ok(saved)
    })
}

/// Filters of a consultant list.
#[derive(Debug, Clone, Default)]
pub struct ConsultantFilter {
    pub status: Option<String>,
    pub language: Option<String>,
    pub speciality: Option<String>,
    /// Only consultants with an active service in this category.
    pub category: Option<String>,
}

fn consultant_query(f: &ConsultantFilter) -> bc::BoxedQuery<'static, crate::db::MultiBackend> {
    let mut q = bc::table.into_boxed();
    if let Some(status) = &f.status {
        q = q.filter(bc::status.eq(status.clone()));
    }
    if let Some(category) = &f.category {
        q = q.filter(
            bc::id.eq_any(
                sv::table
                    .filter(sv::category_id.eq(category.clone()))
                    .filter(sv::active.eq(true))
                    .select(sv::consultant_id),
            ),
        );
    }
    for (kind, value) in [("language", &f.language), ("speciality", &f.speciality)] {
        if let Some(value) = value {
            q = q.filter(
                bc::id.eq_any(
                    tags::table
                        .filter(tags::kind.eq(kind))
                        .filter(tags::tag.eq(value.to_lowercase()))
                        .select(tags::consultant_id),
                ),
            );
        }
    }
    q
}

/// One page of consultants, oldest first, and how many match.
pub fn consultants(
    conn: &mut DbConn,
    filter: &ConsultantFilter,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<Consultant>, i64)> {
    let total = consultant_query(filter).count().get_result(conn)?;
    let items = consultant_query(filter)
        .order((bc::created_at, bc::id))
        .limit(limit)
        .offset(offset)
        .select(Consultant::as_select())
        .load(conn)?;
    Ok((items, total))
}

/// Moves a profile from one of `from` to `to`; 0 when it was in another state.
pub fn review(
    conn: &mut DbConn,
    id: &str,
    from: &[&str],
    to: &str,
    reason: Option<&str>,
    reviewer: &str,
    now: i64,
) -> QueryResult<usize> {
    diesel::update(bc::table.find(id).filter(bc::status.eq_any(from)))
        .set((
            bc::status.eq(to),
            bc::rejection_reason.eq(reason),
            bc::reviewed_at.eq(now),
            bc::reviewed_by.eq(reviewer),
        ))
        .execute(conn)
}

pub fn insert_service(conn: &mut DbConn, service: &Service) -> QueryResult<usize> {
    diesel::insert_into(sv::table).values(service).execute(conn)
}

pub fn service(conn: &mut DbConn, id: &str) -> QueryResult<Option<Service>> {
    sv::table
        .find(id)
        .filter(sv::active.eq(true))
        .select(Service::as_select())
        .first(conn)
        .optional()
}

/// One page of a consultant's active services, oldest first, and their number.
pub fn services(
    conn: &mut DbConn,
    consultant_id: &str,
    category: Option<&str>,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<Service>, i64)> {
    let query = || {
        let mut q = sv::table
            .filter(sv::consultant_id.eq(consultant_id.to_string()))
            .filter(sv::active.eq(true))
            .into_boxed::<crate::db::MultiBackend>();
        if let Some(c) = category {
            q = q.filter(sv::category_id.eq(c.to_string()));
        }
        q
    };
    let total = query().count().get_result(conn)?;
    let items = query()
        .order((sv::created_at, sv::id))
        .limit(limit)
        .offset(offset)
        .select(Service::as_select())
        .load(conn)?;
    Ok((items, total))
}

/// Retires a service (appointments keep pointing at it); 0 when it is not theirs.
pub fn deactivate_service(conn: &mut DbConn, consultant_id: &str, id: &str) -> QueryResult<usize> {
    diesel::update(
        sv::table
            .find(id)
            .filter(sv::consultant_id.eq(consultant_id))
            .filter(sv::active.eq(true)),
    )
    .set(sv::active.eq(false))
    .execute(conn)
}
