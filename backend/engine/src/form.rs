//! Form definitions, validation of submitted data, and per-node field permissions.

use serde::{Deserialize, Serialize};

/// What a node's handler may do with a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FieldAccess {
    /// May change it in a `form_patch`.
    Editable,
    /// Sees it, may not change it (the default for handlers).
    #[default]
    ReadOnly,
    /// Neither sees nor changes it.
    Hidden,
}
