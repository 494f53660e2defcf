//! Operations for the IT office: the integrity check.

use serde::Deserialize;
use utoipa::IntoParams;
use validator::Validate;

/// `GET /ops/check`.
#[derive(Debug, Default, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
pub struct CheckQuery {
    /// Also look up every object the database names in the object store (slower).
    #[serde(default)]
    pub files: bool,
}
