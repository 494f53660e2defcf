//! The working-day calendar: the shipped State Council schedules, with years an administrator
//! entered or corrected stored in `holiday_years` and taking precedence.

use std::collections::BTreeMap;

use sea_orm::ExprTrait;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use tongban_engine::calendar::{CalendarData, Holiday, WorkCalendar, YearSchedule};

use crate::audit::{self, AuditCtx, Entry};
use crate::dto::calendar::{DayView, HolidayView, HolidayYearView, PutHolidayYear, ScheduleOrigin};
use crate::entity::holiday_year;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::policy::{Permission, Principal};
use crate::state::AppState;
use crate::time::now;

fn view(y: &YearSchedule, row: Option<&holiday_year::Model>) -> HolidayYearView {
    HolidayYearView {
        year: y.year,
        source: y.source.clone(),
        holidays: y
            .holidays
            .iter()
            .map(|h| HolidayView {
                name: h.name.clone(),
                name_en: h.name_en.clone(),
                days_off: h.days_off.clone(),
                make_up_workdays: h.make_up_workdays.clone(),
            })
            .collect(),
        origin: if row.is_some() { ScheduleOrigin::Custom } else { ScheduleOrigin::Builtin },
        version: row.map(|r| r.version),
        updated_at: row.map(|r| r.updated_at),
    }
}

/// The shipped schedules, parsed once (every task action needs the calendar).
fn builtin() -> &'static CalendarData {
    static BUILTIN: std::sync::OnceLock<CalendarData> = std::sync::OnceLock::new();
    BUILTIN.get_or_init(|| WorkCalendar::builtin().data().clone())
}

/// Shipped years merged with edited ones, and the edited rows by year.
async fn merged<C: ConnectionTrait>(db: &C) -> AppResult<(CalendarData, BTreeMap<i32, holiday_year::Model>)> {
    let mut data = builtin().clone();
    let rows: BTreeMap<i32, holiday_year::Model> =
        holiday_year::Entity::find().all(db).await?.into_iter().map(|r| (r.year, r)).collect();
    for row in rows.values() {
        let y: YearSchedule = serde_json::from_value(row.data.clone())
            .map_err(|e| AppError::Internal(anyhow::anyhow!("holiday year {} unreadable: {e}", row.year)))?;
        data.years.retain(|b| b.year != y.year);
        data.years.push(y);
    }
    data.years.sort_by_key(|y| y.year);
    Ok((data, rows))
}

/// The calendar in force.
pub async fn load<C: ConnectionTrait>(db: &C) -> AppResult<WorkCalendar> {
    let (data, _) = merged(db).await?;
    WorkCalendar::from_data(data).map_err(|e| AppError::Internal(anyhow::anyhow!("calendar: {e}")))
}

/// Every known year.
pub async fn list(st: &AppState) -> AppResult<Vec<HolidayYearView>> {
    let (data, rows) = merged(st.db.conn()).await?;
    Ok(data.years.iter().map(|y| view(y, rows.get(&y.year))).collect())
}

/// One year.
pub async fn get(st: &AppState, year: i32) -> AppResult<HolidayYearView> {
    let (data, rows) = merged(st.db.conn()).await?;
    data.years.iter().find(|y| y.year == year).map(|y| view(y, rows.get(&year))).ok_or_else(AppError::not_found)
}

/// Whether a date is a working day.
pub async fn day(st: &AppState, date: chrono::NaiveDate) -> AppResult<DayView> {
    use chrono::Datelike;
    let cal = load(st.db.conn()).await?;
    Ok(DayView {
        date,
        working_day: cal.is_working_day(date),
        holiday: cal.holiday_name(date).map(str::to_owned),
        year_known: cal.covers(date.year()),
    })
}

/// Enter or correct a year's schedule (`settings.manage`).
pub async fn put(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    year: i32,
    req: PutHolidayYear,
) -> AppResult<HolidayYearView> {
    p.require(Permission::SettingsManage)?;
    if !(2000..=2100).contains(&year) {
        return Err(AppError::field("year", "range", "年份须在 2000–2100 之间", "The year must be 2000–2100"));
    }
    let schedule = YearSchedule {
        year,
        source: req.source.clone(),
        holidays: req
            .holidays
            .iter()
            .map(|h| Holiday {
                name: h.name.trim().to_owned(),
                name_en: h.name_en.clone(),
                days_off: h.days_off.clone(),
                make_up_workdays: h.make_up_workdays.clone(),
            })
            .collect(),
    };
    let txn = st.db.write().await?;
    let (mut data, rows) = merged(&*txn).await?;
    let before = data.years.iter().find(|y| y.year == year).cloned();
    data.years.retain(|y| y.year != year);
    data.years.push(schedule.clone());
    WorkCalendar::from_data(data).map_err(|e| {
        AppError::detail(ErrorCode::RuleViolation, format!("节假日安排有误：{e}"), format!("Invalid schedule: {e}"))
    })?;
    let json = serde_json::to_value(&schedule).map_err(|e| AppError::Internal(e.into()))?;
    let t = now();
    match (rows.get(&year), req.version) {
        (None, None) => {
            holiday_year::ActiveModel {
                year: Set(year),
                data: Set(json),
                version: Set(1),
                updated_by: Set(Some(p.user_id)),
                updated_at: Set(t),
            }
            .insert(&*txn)
            .await
            .map_err(super::unique_to_conflict)?;
        }
        (Some(_), Some(v)) => {
            let r = holiday_year::Entity::update_many()
                .col_expr(holiday_year::Column::Data, Expr::value(json))
                .col_expr(holiday_year::Column::Version, Expr::col(holiday_year::Column::Version).add(1))
                .col_expr(holiday_year::Column::UpdatedBy, Expr::value(p.user_id))
                .col_expr(holiday_year::Column::UpdatedAt, Expr::value(t))
                .filter(holiday_year::Column::Year.eq(year))
                .filter(holiday_year::Column::Version.eq(v))
                .exec(&*txn)
                .await?;
            if r.rows_affected != 1 {
                return Err(AppError::stale());
            }
        }
        _ => return Err(AppError::stale()),
    }
    audit::record(&*txn, ctx, Entry::new("holidays.put", "holiday_year", year).before(&before).after(&schedule))
        .await?;
    let row = holiday_year::Entity::find_by_id(year).one(&*txn).await?;
    txn.commit().await?;
    Ok(view(&schedule, row.as_ref()))
}
