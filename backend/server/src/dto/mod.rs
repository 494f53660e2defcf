//! Request and response types of the API. These are not ORM entities: they are built from models
//! with `From`, so internal fields (password hashes, auth epochs) can never leak.

/// A closed set of stable string codes: serde names, `as_str` and `parse`.
macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $code:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $( #[serde(rename = $code)] $variant, )*
        }

        // Written by hand: utoipa's derive does not see `rename` attributes that a macro emits.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $crate::dto::string_enum_schema(&[$($code),*])
            }
        }

        impl utoipa::ToSchema for $name {}

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
pub mod archive;
pub mod attachment;
pub mod auth;
pub mod calendar;
pub mod certificate;
pub mod common;
pub mod definition;
pub mod draft;
pub mod hall;
pub mod integration;
pub mod ops;
pub mod org;
pub mod process;
pub mod requirement;
pub mod search;
pub mod stats;

/// The OpenAPI schema of a closed set of string codes.
pub fn string_enum_schema(codes: &[&str]) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(codes.iter().copied()))
        .into()
}
