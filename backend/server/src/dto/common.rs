//! Shared shapes: pages, list queries, version checks.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    /// Items on this page.
    pub items: Vec<T>,
    /// Items in the whole list.
    pub total: u64,
    /// Page number, from 1.
    pub page: u64,
    /// Page size.
    pub page_size: u64,
}

/// Paging parameters: `page` from 1, `page_size` 1–100 (default 20).
#[derive(Debug, Clone, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page number, from 1.
    #[validate(range(min = 1, max = 1_000_000))]
    #[param(minimum = 1, maximum = 1_000_000, default = 1)]
    pub page: Option<u64>,
    /// Items per page, at most 100.
    #[validate(range(min = 1, max = 100))]
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub page_size: Option<u64>,
}

impl PageQuery {
    /// Page number (1-based).
    pub fn page(&self) -> u64 {
        self.page.unwrap_or(1)
    }

    /// Page size.
    pub fn size(&self) -> u64 {
        self.page_size.unwrap_or(20)
    }
}

/// A department by id and name.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DepartmentRef {
    /// Id.
    pub id: uuid::Uuid,
    /// Name.
    pub name: String,
}
