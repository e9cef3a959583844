//! Pagination shared by every list: `?page=1&per_page=20`.

use serde::{Deserialize, Serialize};

use super::ApiError;

/// Largest page a client may ask for.
pub const MAX_PER_PAGE: i64 = 100;
/// Page size when none is asked for.
pub const DEFAULT_PER_PAGE: i64 = 20;

/// Query parameters of a list (1-based pages).
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct Pagination {
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

impl Pagination {
    /// Checks the numbers: pages start at 1, `per_page` is 1..=100.
    pub fn checked(self) -> Result<Pagination, ApiError> {
        if self.page.is_some_and(|p| !(1..=1_000_000).contains(&p)) {
            return Err(ApiError::InvalidRequest(
                "page must be between 1 and 1000000".into(),
            ));
        }
        if self
            .per_page
            .is_some_and(|p| !(1..=MAX_PER_PAGE).contains(&p))
        {
            return Err(ApiError::InvalidRequest(format!(
                "per_page must be between 1 and {MAX_PER_PAGE}"
            )));
        }
        Ok(self)
    }

    pub fn page(&self) -> i64 {
        self.page.unwrap_or(1).clamp(1, 1_000_000)
    }

    pub fn per_page(&self) -> i64 {
        self.per_page
            .unwrap_or(DEFAULT_PER_PAGE)
            .clamp(1, MAX_PER_PAGE)
    }

    /// SQL `LIMIT`.
    pub fn limit(&self) -> i64 {
        self.per_page()
    }

    /// SQL `OFFSET`.
    pub fn offset(&self) -> i64 {
        (self.page() - 1) * self.per_page()
    }
}

/// One page of a list.
#[derive(Debug, Serialize)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

impl<T> Paged<T> {
    pub fn new(items: Vec<T>, total: i64, p: &Pagination) -> Paged<T> {
        Paged {
            items,
            page: p.page(),
            per_page: p.per_page(),
            total,
        }
    }
}
