//! The catalogue around guides: themes (办事主题) and the hall's quick channels (快捷通道). Reading
//! themes is public; changing either needs `settings.manage` (the hall belongs to the IT office).

use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, ExprTrait, PaginatorTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

use super::unique_to_conflict;
use crate::audit::{self, AuditCtx, Entry};
use crate::dto::hall::{Audience, CategoryView, CreateCategory, HallLinkRequest, HallLinkView, UpdateCategory};
use crate::entity::{category, guide, hall_link};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::policy::{Permission, Principal};
use crate::services::hall;
use crate::state::AppState;
use crate::time::now;

impl From<category::Model> for CategoryView {
    fn from(m: category::Model) -> Self {
        CategoryView {
            id: m.id,
            code: m.code,
            name: m.name,
            name_en: m.name_en,
            description: m.description,
            icon: m.icon,
            sort_order: m.sort_order,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// Every theme, in order (public; from the hall's snapshot).
pub async fn list_categories(st: &AppState) -> AppResult<Vec<CategoryView>> {
    let s = hall::snapshot(st).await?;
    Ok(s.categories.iter().cloned().map(Into::into).collect())
}

/// Create a theme.
pub async fn create_category(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    req: CreateCategory,
) -> AppResult<CategoryView> {
    p.require(Permission::SettingsManage)?;
    let txn = st.db.write().await?;
    if category::Entity::find().filter(category::Column::Code.eq(&req.code)).one(&*txn).await?.is_some() {
        return Err(AppError::taken("code", "主题编码已被使用", "The code is already in use"));
    }
    let t = now();
    let m = category::ActiveModel {
        id: Set(Uuid::now_v7()),
        code: Set(req.code),
        name: Set(req.name.trim().to_owned()),
        name_en: Set(req.name_en),
        description: Set(req.description),
        icon: Set(req.icon),
        sort_order: Set(req.sort_order),
        version: Set(1),
        created_at: Set(t),
        updated_at: Set(t),
    }
    .insert(&*txn)
    .await
    .map_err(unique_to_conflict)?;
    let view = CategoryView::from(m);
    audit::record(&*txn, ctx, Entry::new("category.create", "category", view.id).after(&view)).await?;
    txn.commit().await?;
    st.hall.invalidate();
    Ok(view)
}

/// Change a theme; `version` must match.
pub async fn update_category(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    id: Uuid,
    req: UpdateCategory,
) -> AppResult<CategoryView> {
    p.require(Permission::SettingsManage)?;
    let before: CategoryView =
        category::Entity::find_by_id(id).one(st.db.conn()).await?.ok_or_else(AppError::not_found)?.into();
    let txn = st.db.write().await?;
    let r = category::Entity::update_many()
        .col_expr(category::Column::Name, Expr::value(req.name.trim()))
        .col_expr(category::Column::NameEn, Expr::value(req.name_en))
        .col_expr(category::Column::Description, Expr::value(req.description))
        .col_expr(category::Column::Icon, Expr::value(req.icon))
        .col_expr(category::Column::SortOrder, Expr::value(req.sort_order))
        .col_expr(category::Column::Version, Expr::col(category::Column::Version).add(1))
        .col_expr(category::Column::UpdatedAt, Expr::value(now()))
        .filter(category::Column::Id.eq(id))
        .filter(category::Column::Version.eq(req.version))
        .exec(&*txn)
        .await?;
    if r.rows_affected != 1 {
        return Err(AppError::stale());
    }
    let after: CategoryView =
        category::Entity::find_by_id(id).one(&*txn).await?.ok_or_else(AppError::not_found)?.into();
    audit::record(&*txn, ctx, Entry::new("category.update", "category", id).before(&before).after(&after)).await?;
    txn.commit().await?;
    st.hall.invalidate();
    Ok(after)
}

/// Delete a theme no guide uses.
pub async fn delete_category(st: &AppState, p: &Principal, ctx: &AuditCtx, id: Uuid) -> AppResult<()> {
    p.require(Permission::SettingsManage)?;
    let before: CategoryView =
        category::Entity::find_by_id(id).one(st.db.conn()).await?.ok_or_else(AppError::not_found)?.into();
    let txn = st.db.write().await?;
    let used = guide::Entity::find().filter(guide::Column::CategoryId.eq(id)).count(&*txn).await?;
    if used > 0 {
        return Err(AppError::detail(
            ErrorCode::InUse,
            format!("有 {used} 个办事指南属于该主题，不能删除"),
            format!("{used} guides belong to this category"),
        ));
    }
    let r = category::Entity::delete_by_id(id).exec(&*txn).await.map_err(unique_to_conflict)?;
    if r.rows_affected != 1 {
        return Err(AppError::not_found());
    }
    audit::record(&*txn, ctx, Entry::new("category.delete", "category", id).before(&before)).await?;
    txn.commit().await?;
    st.hall.invalidate();
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Quick links

/// Every quick link, for its administrators.
pub async fn list_links(st: &AppState, p: &Principal) -> AppResult<Vec<HallLinkView>> {
    p.require(Permission::SettingsManage)?;
    let rows = hall_link::Entity::find()
        .order_by_asc(hall_link::Column::SortOrder)
        .order_by_asc(hall_link::Column::CreatedAt)
        .all(st.db.conn())
        .await?;
    Ok(rows.iter().map(hall::link_view).collect())
}

async fn check_link(st: &AppState, req: &HallLinkRequest) -> AppResult<()> {
    match (&req.url, req.guide_id) {
        (Some(_), Some(_)) | (None, None) => Err(AppError::field(
            "url",
            "one_of",
            "请填写链接地址或选择一个办事指南（二选一）",
            "Give either a URL or a guide",
        )),
        (None, Some(g)) if guide::Entity::find_by_id(g).one(st.db.conn()).await?.is_none() => {
            Err(AppError::field("guide_id", "not_found", "办事指南不存在", "No such guide"))
        }
        _ => Ok(()),
    }
}

fn audiences_json(a: &[Audience]) -> serde_json::Value {
    let mut v: Vec<&str> = Vec::new();
    for x in a {
        if !v.contains(&x.as_str()) {
            v.push(x.as_str());
        }
    }
    serde_json::json!(v)
}

/// Add a quick link.
pub async fn create_link(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    req: HallLinkRequest,
) -> AppResult<HallLinkView> {
    p.require(Permission::SettingsManage)?;
    check_link(st, &req).await?;
    let t = now();
    let txn = st.db.write().await?;
    let m = hall_link::ActiveModel {
        id: Set(Uuid::now_v7()),
        title: Set(req.title.trim().to_owned()),
        title_en: Set(req.title_en),
        url: Set(req.url),
        guide_id: Set(req.guide_id),
        icon: Set(req.icon),
        audiences: Set(audiences_json(&req.audiences)),
        sort_order: Set(req.sort_order),
        version: Set(1),
        created_at: Set(t),
        updated_at: Set(t),
    }
    .insert(&*txn)
    .await
    .map_err(unique_to_conflict)?;
    let view = hall::link_view(&m);
    audit::record(&*txn, ctx, Entry::new("hall_link.create", "hall_link", m.id).after(&view)).await?;
    txn.commit().await?;
    st.hall.invalidate();
    Ok(view)
}

/// Change a quick link; `version` must match.
pub async fn update_link(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    id: Uuid,
    req: HallLinkRequest,
) -> AppResult<HallLinkView> {
    p.require(Permission::SettingsManage)?;
    let before =
        hall::link_view(&hall_link::Entity::find_by_id(id).one(st.db.conn()).await?.ok_or_else(AppError::not_found)?);
    let Some(version) = req.version else {
        return Err(AppError::field("version", "required", "请提供读取时的版本号", "Send the version you read"));
    };
    check_link(st, &req).await?;
    let txn = st.db.write().await?;
    let r = hall_link::Entity::update_many()
        .col_expr(hall_link::Column::Title, Expr::value(req.title.trim()))
        .col_expr(hall_link::Column::TitleEn, Expr::value(req.title_en))
        .col_expr(hall_link::Column::Url, Expr::value(req.url))
        .col_expr(hall_link::Column::GuideId, Expr::value(req.guide_id))
        .col_expr(hall_link::Column::Icon, Expr::value(req.icon))
        .col_expr(hall_link::Column::Audiences, Expr::value(audiences_json(&req.audiences)))
        .col_expr(hall_link::Column::SortOrder, Expr::value(req.sort_order))
        .col_expr(hall_link::Column::Version, Expr::col(hall_link::Column::Version).add(1))
        .col_expr(hall_link::Column::UpdatedAt, Expr::value(now()))
        .filter(hall_link::Column::Id.eq(id))
        .filter(hall_link::Column::Version.eq(version))
        .exec(&*txn)
        .await?;
    if r.rows_affected != 1 {
        return Err(AppError::stale());
    }
    let after = hall::link_view(&hall_link::Entity::find_by_id(id).one(&*txn).await?.ok_or_else(AppError::not_found)?);
    audit::record(&*txn, ctx, Entry::new("hall_link.update", "hall_link", id).before(&before).after(&after)).await?;
    txn.commit().await?;
    st.hall.invalidate();
    Ok(after)
}

/// Remove a quick link.
pub async fn delete_link(st: &AppState, p: &Principal, ctx: &AuditCtx, id: Uuid) -> AppResult<()> {
    p.require(Permission::SettingsManage)?;
    let before =
        hall::link_view(&hall_link::Entity::find_by_id(id).one(st.db.conn()).await?.ok_or_else(AppError::not_found)?);
    let txn = st.db.write().await?;
    let r = hall_link::Entity::delete_by_id(id).exec(&*txn).await?;
    if r.rows_affected != 1 {
        return Err(AppError::not_found());
    }
    audit::record(&*txn, ctx, Entry::new("hall_link.delete", "hall_link", id).before(&before)).await?;
    txn.commit().await?;
    st.hall.invalidate();
    Ok(())
}
