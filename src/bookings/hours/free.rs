//! Free slots: a consultant's working hours and exceptions, less their appointments, on the booking grid.

use super::*;

/// `GET /consultants/{id}/slots` query.
#[derive(Debug, Deserialize)]
pub struct SlotsQuery {
    pub service_id: String,
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct SlotView {
    pub starts_at: String,
    pub ends_at: String,
    pub local_start: String,
}

#[derive(Debug, Serialize)]
pub struct SlotsView {
    pub consultant_id: String,
    pub service_id: String,
    pub duration_minutes: i64,
    pub time_zone: String,
    pub from: String,
    pub to: String,
    pub slots: Vec<SlotView>,
    /// Pagination of `slots` (1-based page; 100 a page unless asked otherwise).
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

/// Free slots of `service` on local dates `from..=to` (default: the coming week).
pub fn free(
    conn: &mut DbConn,
    c: &Consultant,
    service: &Service,
    q: &SlotsQuery,
    page: &Pagination,
    config: &Config,
    now: i64,
) -> Result<SlotsView, ApiError> {
    let tz = zone(c)?;
    let from = match &q.from {
        Some(v) => date("from", v)?,
        None => slots::local_date(now, tz),
    };
    let to = match &q.to {
        Some(v) => date("to", v)?,
        None => from + Duration::days(6),
    };
    if to < from || (to - from).num_days() >= MAX_RANGE_DAYS {
        return Err(ApiError::InvalidRequest(format!(
            "to must be on or after from, and the range at most {MAX_RANGE_DAYS} days"
        )));
    }
    // A day either side, so hours running over midnight join up as they do at booking.
    let windows = windows(
        conn,
        c,
        tz,
        from - Duration::days(1),
        to + Duration::days(1),
    )?;
    let (lo, hi) = match (windows.first(), windows.last()) {
        (Some(first), Some(last)) => (first.0, last.1),
        _ => (0, 0),
    };
    let taken: BTreeSet<i64> = store::appointments::taken_blocks(conn, &c.id, lo, hi)?
        .into_iter()
        .collect();
    let duration = service.duration_minutes * 60;
    let starts = slots::free_slots(
        &windows,
        duration,
        tz,
        config.slot_minutes * 60,
        BLOCK_SECONDS,
        &taken,
        now,
    );
    let in_range: Vec<i64> = starts
        .into_iter()
        .filter(|&t| (from..=to).contains(&slots::local_date(t, tz)))
        .collect();
    let total = in_range.len() as i64;
    Ok(SlotsView {
        page: page.page(),
        per_page: page.per_page(),
        total,
        consultant_id: c.id.clone(),
        service_id: service.id.clone(),
        duration_minutes: service.duration_minutes,
        time_zone: c.time_zone.clone(),
        from: from.format("%Y-%m-%d").to_string(),
        to: to.format("%Y-%m-%d").to_string(),
        slots: in_range
            .into_iter()
            .skip(page.offset() as usize)
            .take(page.limit() as usize)
            .map(|t| SlotView {
                starts_at: slots::utc(t),
                ends_at: slots::utc(t + duration),
                local_start: slots::local(t, tz),
            })
            .collect(),
    })
}
