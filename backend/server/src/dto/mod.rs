//! Request and response types of the API. These are not ORM entities: they are built from models
//! with `From`, so internal fields (password hashes, auth epochs) can never leak.

/// A closed set of stable string codes: serde names, `as_str` and `parse`.
macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $code:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        pub enum $name {
            $( #[serde(rename = $code)] $variant, )*
        }

        impl $name {
            /// Stable code, as stored.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $code,)* }
            }

            /// Parse a stored code.
            pub fn parse(s: &str) -> Option<$name> {
                match s { $($code => Some($name::$variant),)* _ => None }
            }
        }
    };
}

pub mod absence;
pub mod affair;
pub mod auth;
pub mod calendar;
pub mod common;
pub mod org;
pub mod process;
