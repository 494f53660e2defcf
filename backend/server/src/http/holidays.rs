//! `/holidays`: the working-day calendar that time limits are counted on. Reading is public.

use actix_web::{get, put, web};
use utoipa_actix_web::service_config::ServiceConfig;

use super::extract::{Auth, ValidJson};
use super::problem::Problem;
use crate::dto::calendar::{DayQuery, DayView, HolidayYearView, PutHolidayYear};
use crate::error::AppError;
use crate::services::calendar;
use crate::state::AppState;

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_holiday_years).service(check_day).service(get_holiday_year).service(put_holiday_year);
}

/// Every year with a schedule (shipped or edited). Years without one count Monday–Friday. Public.
#[utoipa::path(tag = "holidays", responses((status = 200, description = "Years", body = Vec<HolidayYearView>)))]
#[get("/holidays")]
async fn list_holiday_years(st: web::Data<AppState>) -> Result<web::Json<Vec<HolidayYearView>>, AppError> {
    Ok(web::Json(calendar::list(&st).await?))
}

/// Whether a date is a working day. Public.
#[utoipa::path(
    tag = "holidays",
    params(DayQuery),
    responses(
        (status = 200, description = "The day", body = DayView),
        (status = 400, description = "Bad date", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/holidays/day")]
async fn check_day(st: web::Data<AppState>, q: web::Query<DayQuery>) -> Result<web::Json<DayView>, AppError> {
    Ok(web::Json(calendar::day(&st, q.date).await?))
}

/// One year's schedule. Public.
#[utoipa::path(
    tag = "holidays",
    params(("year" = i32, Path, description = "Year")),
    responses(
        (status = 200, description = "The schedule", body = HolidayYearView),
        (status = 404, description = "No schedule for that year", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/holidays/{year}")]
async fn get_holiday_year(
    st: web::Data<AppState>,
    year: web::Path<i32>,
) -> Result<web::Json<HolidayYearView>, AppError> {
    Ok(web::Json(calendar::get(&st, *year).await?))
}

/// Enter or correct a year's schedule when the State Council publishes it (`settings.manage`).
#[utoipa::path(
    tag = "holidays",
    security(("bearer" = [])),
    params(("year" = i32, Path, description = "Year")),
    request_body = PutHolidayYear,
    responses(
        (status = 200, description = "Saved", body = HolidayYearView),
        (status = 400, description = "Invalid", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stale version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Inconsistent schedule", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/holidays/{year}")]
async fn put_holiday_year(
    st: web::Data<AppState>,
    auth: Auth,
    year: web::Path<i32>,
    body: ValidJson<PutHolidayYear>,
) -> Result<web::Json<HolidayYearView>, AppError> {
    Ok(web::Json(calendar::put(&st, &auth.principal, &auth.ctx, *year, body.0).await?))
}
