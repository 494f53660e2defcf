//! Electronic certificates (电子证照, #5): types defined by departments, issuance by hand or by a
//! process's service task, signatures (see [`crate::signing`]), revocation, re-issue that
//! supersedes the old certificate, the holder's wallet and public verification.
//!
//! Numbers are `{prefix}{year}{sequence:06}`, the sequence taken inside the issuing transaction with
//! one atomic `UPDATE … RETURNING` on the `(type, year)` row: PostgreSQL's row lock serialises
//! concurrent issuers (across instances too), SQLite has a single writer.

use std::collections::{HashMap, HashSet};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Datelike, TimeDelta};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, EntityTrait, ExprTrait, PaginatorTrait,
    QueryFilter, QueryOrder, Set, Statement,
};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::unique_to_conflict;
use crate::access::{Facts, Op};
use crate::audit::{self, AuditCtx, Entry};
use crate::dto::certificate::{
    CertificateQuery, CertificateStatus, CertificateTypeFields, CertificateTypeView, CertificateView,
    CreateCertificateType, IssueCertificate, ReissueCertificate, RevokeCertificate, UpdateCertificateType,
    VerifyResult, VerifyStatus,
};
use crate::dto::common::{Page, PageQuery};
use crate::dto::integration::WebhookEvent;
use crate::entity::{certificate, certificate_type, department, user};
use crate::error::{AppError, AppResult, ErrorCode, FieldError, Msg};
use crate::policy::{DataScope, Permission, Principal, Target};
use crate::state::AppState;
use crate::time::now;

/// Template evaluation budget: a template cannot loop for ever.
const FUEL: u64 = 100_000;

fn environment() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    // The output is plain text, not HTML.
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.set_fuel(Some(FUEL));
    env
}

/// 400 unless `src` parses as a template.
fn check_template(src: &str) -> AppResult<()> {
    let env = environment();
    env.template_from_str(src).map(|_| ()).map_err(|e| {
        AppError::field(
            "template",
            "template_syntax",
            format!("证照正文模板有误：{e}"),
            format!("The body template does not parse: {e}"),
        )
    })
}

/// The body of a certificate: the type's template over the holder and the data.
fn render(src: &str, holder: &Value, data: &Map<String, Value>) -> AppResult<String> {
    let env = environment();
    env.render_str(src, minijinja::context! { holder => minijinja::Value::from(minijinja::value::Serde(holder)), data => minijinja::Value::from(minijinja::value::Serde(data)) }).map_err(|e| {
        AppError::field(
            "data",
            "template_render",
            format!("无法按模板生成证照正文：{e}"),
            format!("The body cannot be rendered from this data: {e}"),
        )
    })
}

/// Keep the first character of a name and mask the rest (林*, 欧阳** → 欧**).
pub fn mask_name(name: &str) -> String {
    let mut chars = name.trim().chars();
    match chars.next() {
        None => String::new(),
        Some(first) => {
            let rest = chars.count().max(1);
            format!("{first}{}", "*".repeat(rest))
        }
    }
}

fn type_view(t: certificate_type::Model) -> CertificateTypeView {
    CertificateTypeView {
        id: t.id,
        code: t.code,
        name: t.name,
        name_en: t.name_en,
        department_id: t.department_id,
        template: t.template,
        validity_days: t.validity_days,
        number_prefix: t.number_prefix,
        layout: t.layout,
        version: t.version,
        created_at: t.created_at,
        updated_at: t.updated_at,
    }
}

fn verify_url(st: &AppState, code: &str) -> String {
    format!("{}/verify/{code}", st.settings.public_url.trim_end_matches('/'))
}

fn view(st: &AppState, c: certificate::Model, type_code: String, holder_name: String) -> CertificateView {
    let expired = c.status == CertificateStatus::Valid.as_str() && c.valid_until.is_some_and(|u| u < now());
    CertificateView {
        id: c.id,
        type_id: c.type_id,
        type_code,
        verify_url: verify_url(st, &c.verify_code),
        number: c.number,
        verify_code: c.verify_code,
        holder_id: c.holder_id,
        holder_name,
        affair_id: c.affair_id,
        department_id: c.department_id,
        title: c.title,
        body: c.body,
        data: c.data,
        kid: c.kid,
        status: CertificateStatus::parse(&c.status).unwrap_or(CertificateStatus::Valid),
        expired,
        issued_at: c.issued_at,
        issued_by: c.issued_by,
        valid_until: c.valid_until,
        revoked_at: c.revoked_at,
        revoke_reason: c.revoke_reason,
        supersedes_id: c.supersedes_id,
        superseded_by_id: c.superseded_by_id,
        version: c.version,
    }
}

async fn views<C: ConnectionTrait>(
    st: &AppState,
    db: &C,
    rows: Vec<certificate::Model>,
) -> AppResult<Vec<CertificateView>> {
    let type_ids: Vec<Uuid> = rows.iter().map(|c| c.type_id).collect();
    let holder_ids: Vec<Uuid> = rows.iter().map(|c| c.holder_id).collect();
    let types: std::collections::HashMap<Uuid, String> = certificate_type::Entity::find()
        .filter(certificate_type::Column::Id.is_in(type_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t.code))
        .collect();
    let holders: std::collections::HashMap<Uuid, String> = user::Entity::find()
        .filter(user::Column::Id.is_in(holder_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.display_name))
        .collect();
    Ok(rows
        .into_iter()
        .map(|c| {
            let code = types.get(&c.type_id).cloned().unwrap_or_default();
            let name = holders.get(&c.holder_id).cloned().unwrap_or_default();
            view(st, c, code, name)
        })
        .collect())
}

async fn one_view<C: ConnectionTrait>(st: &AppState, db: &C, c: certificate::Model) -> AppResult<CertificateView> {
    views(st, db, vec![c]).await?.pop().ok_or_else(|| AppError::Internal(anyhow::anyhow!("certificate view")))
}

fn type_target(t: &certificate_type::Model) -> Target {
    Target { owner_id: None, department_id: Some(t.department_id) }
}

/// The type, for a caller who issues for its department; 404 for anyone else.
async fn load_type<C: ConnectionTrait>(db: &C, p: &Principal, id: Uuid) -> AppResult<certificate_type::Model> {
    let t = certificate_type::Entity::find_by_id(id).one(db).await?.ok_or_else(AppError::not_found)?;
    if p.can_on(Permission::CertificateIssue, type_target(&t)) { Ok(t) } else { Err(AppError::not_found()) }
}

/// The certificate, for its holder or an issuer over its department; 404 for anyone else.
async fn load_readable<C: ConnectionTrait>(db: &C, p: &Principal, id: Uuid) -> AppResult<certificate::Model> {
    let c = certificate::Entity::find_by_id(id).one(db).await?.ok_or_else(AppError::not_found)?;
    if p.may(Op::CertificateRead, &Facts { owner_id: Some(c.holder_id), departments: &[Some(c.department_id)] }) {
        Ok(c)
    } else {
        Err(AppError::not_found())
    }
}

/// The certificate, for an issuer over its department: 403 for its holder, 404 for anyone else.
async fn load_managed<C: ConnectionTrait>(db: &C, p: &Principal, id: Uuid) -> AppResult<certificate::Model> {
    let c = load_readable(db, p, id).await?;
    if p.may(Op::CertificateRevoke, &Facts { owner_id: Some(c.holder_id), departments: &[Some(c.department_id)] }) {
        Ok(c)
    } else {
        Err(AppError::forbidden())
    }
}

/// The layout key naming an uploaded seal image in the object store; set only by
/// [`set_seal`], never by a client (it could name someone else's upload).
const SEAL_KEY: &str = "seal_key";

/// A client's layout with the server-managed seal key of `current` kept.
fn layout_of(l: Option<Map<String, Value>>) -> Value {
    let mut m = l.unwrap_or_default();
    m.remove(SEAL_KEY);
    Value::Object(m)
}

fn layout_keeping_seal(l: Option<Map<String, Value>>, current: &Value) -> Value {
    let mut v = layout_of(l);
    if let (Value::Object(m), Some(k)) = (&mut v, current.get(SEAL_KEY)) {
        m.insert(SEAL_KEY.into(), k.clone());
    }
    v
}

/// Certificate types the caller issues (`certificate.issue`, scoped to its departments).
pub async fn list_types(st: &AppState, p: &Principal) -> AppResult<Vec<CertificateTypeView>> {
    let scope = p.scope(Permission::CertificateIssue).ok_or_else(AppError::forbidden)?;
    let mut q = certificate_type::Entity::find().order_by_asc(certificate_type::Column::Code);
    if let DataScope::Limited { departments, .. } = scope {
        q = q.filter(certificate_type::Column::DepartmentId.is_in(departments));
    }
    Ok(q.all(st.db.conn()).await?.into_iter().map(type_view).collect())
}

/// Define a certificate type for a department the caller issues for.
pub async fn create_type(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    req: CreateCertificateType,
) -> AppResult<CertificateTypeView> {
    p.require(Permission::CertificateIssue)?;
    if department::Entity::find_by_id(req.department_id).one(st.db.conn()).await?.is_none() {
        return Err(AppError::field("department_id", "not_found", "部门不存在", "No such department"));
    }
    p.require_on(Permission::CertificateIssue, Target { owner_id: None, department_id: Some(req.department_id) })?;
    check_template(&req.fields.template)?;
    let txn = st.db.write().await?;
    if certificate_type::Entity::find().filter(certificate_type::Column::Code.eq(&req.code)).one(&*txn).await?.is_some()
    {
        return Err(AppError::taken("code", "证照类型编码已被使用", "The code is already in use"));
    }
    if certificate_type::Entity::find()
        .filter(certificate_type::Column::NumberPrefix.eq(&req.fields.number_prefix))
        .one(&*txn)
        .await?
        .is_some()
    {
        return Err(AppError::taken(
            "number_prefix",
            "该编号前缀已由其他证照类型使用",
            "Another certificate type uses this number prefix",
        ));
    }
    let t = now();
    let f = req.fields;
    let m = certificate_type::ActiveModel {
        id: Set(Uuid::now_v7()),
        code: Set(req.code),
        name: Set(f.name),
        name_en: Set(f.name_en),
        department_id: Set(req.department_id),
        template: Set(f.template),
        validity_days: Set(f.validity_days),
        number_prefix: Set(f.number_prefix),
        layout: Set(layout_of(f.layout)),
        version: Set(1),
        created_at: Set(t),
        updated_at: Set(t),
    }
    .insert(&*txn)
    .await
    .map_err(unique_to_conflict)?;
    let v = type_view(m);
    audit::record(&*txn, ctx, Entry::new("certificate_type.create", "certificate_type", v.id).after(&v)).await?;
    txn.commit().await?;
    Ok(v)
}

/// Change a certificate type (conditional on its version). Issued certificates keep their text.
pub async fn update_type(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    id: Uuid,
    req: UpdateCertificateType,
) -> AppResult<CertificateTypeView> {
    let before = load_type(st.db.conn(), p, id).await?;
    check_template(&req.fields.template)?;
    // Numbers already issued carry the prefix; changing it could repeat another type's numbers.
    if req.fields.number_prefix != before.number_prefix {
        return Err(AppError::field(
            "number_prefix",
            "immutable",
            "编号前缀设定后不能修改",
            "The number prefix cannot change once set",
        ));
    }
    let f: CertificateTypeFields = req.fields;
    let txn = st.db.write().await?;
    let r = certificate_type::Entity::update_many()
        .col_expr(certificate_type::Column::Name, Expr::value(f.name))
        .col_expr(certificate_type::Column::NameEn, Expr::value(f.name_en))
        .col_expr(certificate_type::Column::Template, Expr::value(f.template))
        .col_expr(certificate_type::Column::ValidityDays, Expr::value(f.validity_days))
        .col_expr(certificate_type::Column::NumberPrefix, Expr::value(f.number_prefix))
        .col_expr(certificate_type::Column::Layout, Expr::value(layout_keeping_seal(f.layout, &before.layout)))
        .col_expr(certificate_type::Column::Version, Expr::col(certificate_type::Column::Version).add(1))
        .col_expr(certificate_type::Column::UpdatedAt, Expr::value(now()))
        .filter(certificate_type::Column::Id.eq(id))
        .filter(certificate_type::Column::Version.eq(req.version))
        .exec(&*txn)
        .await?;
    if r.rows_affected != 1 {
        return Err(AppError::stale());
    }
    let after = certificate_type::Entity::find_by_id(id).one(&*txn).await?.ok_or_else(AppError::not_found)?;
    let v = type_view(after);
    audit::record(
        &*txn,
        ctx,
        Entry::new("certificate_type.update", "certificate_type", id).before(&type_view(before)).after(&v),
    )
    .await?;
    txn.commit().await?;
    Ok(v)
}

/// Set (or with `None` remove) the seal image printed on a type's certificates: a PNG of at most
/// 1 MiB, kept in the object store. Certificates already issued show the seal in force when drawn.
pub async fn set_seal(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    id: Uuid,
    upload: Option<(String, bytes::Bytes)>,
) -> AppResult<CertificateTypeView> {
    const MAX: usize = 1024 * 1024;
    let before = load_type(st.db.conn(), p, id).await?;
    let key = match upload {
        Some((filename, data)) => {
            if data.len() > MAX {
                return Err(crate::services::storage::too_large(MAX));
            }
            let png = crate::services::storage::sniff(&filename, &data)? == "image/png";
            if !png || !crate::pdf::is_image(&data) {
                return Err(AppError::detail(
                    ErrorCode::UnsupportedMediaType,
                    "印章图片须为 PNG 格式（建议透明背景）",
                    "The seal must be a PNG image (a transparent background is best)",
                ));
            }
            Some(st.storage.put("seals", &filename, data).await?.key)
        }
        None => None,
    };
    let mut layout = before.layout.clone();
    if let Value::Object(m) = &mut layout {
        match &key {
            Some(k) => m.insert(SEAL_KEY.into(), Value::String(k.clone())),
            None => m.remove(SEAL_KEY),
        };
    }
    let txn = st.db.write().await?;
    certificate_type::Entity::update_many()
        .col_expr(certificate_type::Column::Layout, Expr::value(layout))
        .col_expr(certificate_type::Column::Version, Expr::col(certificate_type::Column::Version).add(1))
        .col_expr(certificate_type::Column::UpdatedAt, Expr::value(now()))
        .filter(certificate_type::Column::Id.eq(id))
        .exec(&*txn)
        .await?;
    let after = certificate_type::Entity::find_by_id(id).one(&*txn).await?.ok_or_else(AppError::not_found)?;
    audit::record(
        &*txn,
        ctx,
        Entry::new("certificate_type.seal", "certificate_type", id)
            .before(&json!({ "seal": before.layout.get(SEAL_KEY) }))
            .after(&json!({ "seal": key })),
    )
    .await?;
    txn.commit().await?;
    // The replaced image goes once the change holds.
    if let Some(old) = before.layout.get(SEAL_KEY).and_then(Value::as_str) {
        st.storage.delete(old).await?;
    }
    Ok(type_view(after))
}

/// The next number of a type in `year`, taken atomically inside the caller's transaction.
async fn next_number<C: ConnectionTrait>(db: &C, t: &certificate_type::Model, year: i32) -> AppResult<String> {
    let backend = db.get_database_backend();
    let (insert, update) = match backend {
        DatabaseBackend::Postgres => (
            "INSERT INTO certificate_sequences (type_id, year, next_value) VALUES ($1, $2, 1) ON CONFLICT DO NOTHING",
            "UPDATE certificate_sequences SET next_value = next_value + 1 WHERE type_id = $1 AND year = $2 \
             RETURNING next_value - 1 AS seq",
        ),
        _ => (
            "INSERT INTO certificate_sequences (type_id, year, next_value) VALUES (?1, ?2, 1) ON CONFLICT DO NOTHING",
            "UPDATE certificate_sequences SET next_value = next_value + 1 WHERE type_id = ?1 AND year = ?2 \
             RETURNING next_value - 1 AS seq",
        ),
    };
    let values = || -> Vec<sea_orm::Value> { vec![t.id.into(), year.into()] };
    db.execute_raw(Statement::from_sql_and_values(backend, insert, values())).await?;
    let row = db
        .query_one_raw(Statement::from_sql_and_values(backend, update, values()))
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("certificate sequence row missing")))?;
    let seq: i64 = row.try_get("", "seq")?;
    Ok(format!("{}{year}{seq:06}", t.number_prefix))
}

fn verify_code() -> AppResult<String> {
    let bytes = crate::auth::tokens::random_bytes::<18>().map_err(AppError::Internal)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// What a template sees of the holder.
async fn holder_context<C: ConnectionTrait>(db: &C, u: &user::Model) -> AppResult<Value> {
    let dept = match u.department_id {
        Some(d) => department::Entity::find_by_id(d).one(db).await?.map(|d| d.name),
        None => None,
    };
    Ok(json!({
        "name": u.display_name,
        "username": u.username,
        "kind": u.kind,
        "student_no": u.student_no,
        "staff_no": u.staff_no,
        "department": dept,
    }))
}

/// How a certificate comes about.
pub(crate) struct Issue<'a> {
    pub ty: &'a certificate_type::Model,
    pub holder: &'a user::Model,
    pub affair_id: Option<Uuid>,
    pub data: Map<String, Value>,
    pub issued_by: Option<Uuid>,
    pub supersedes: Option<&'a certificate::Model>,
    pub id: Uuid,
}

/// Render, number, sign and store a certificate, with its audit record, in the caller's transaction.
pub(crate) async fn issue_in<C: ConnectionTrait>(
    st: &AppState,
    db: &C,
    ctx: &AuditCtx,
    i: Issue<'_>,
) -> AppResult<certificate::Model> {
    let holder = holder_context(db, i.holder).await?;
    let body = render(&i.ty.template, &holder, &i.data)?;
    let dept = department::Entity::find_by_id(i.ty.department_id).one(db).await?.ok_or_else(AppError::not_found)?;
    let issued_at = now();
    let valid_until = i.ty.validity_days.map(|d| issued_at + TimeDelta::days(i64::from(d)));
    // Numbers run by the school's calendar year (Beijing time), as affair numbers do.
    let beijing =
        chrono::FixedOffset::east_opt(8 * 3600).ok_or_else(|| AppError::Internal(anyhow::anyhow!("UTC+8 offset")))?;
    let number = next_number(db, i.ty, issued_at.with_timezone(&beijing).year()).await?;
    let code = verify_code()?;
    let mut cert = Map::new();
    cert.insert("type".into(), json!({ "code": i.ty.code, "name": i.ty.name, "name_en": i.ty.name_en }));
    cert.insert("number".into(), json!(number));
    cert.insert(
        "holder".into(),
        json!({ "name": i.holder.display_name, "student_no": i.holder.student_no, "staff_no": i.holder.staff_no }),
    );
    cert.insert("title".into(), json!(i.ty.name));
    cert.insert("body".into(), json!(body));
    cert.insert("issuer".into(), json!({ "department": dept.name, "department_code": dept.code }));
    cert.insert("issued_at".into(), json!(issued_at));
    cert.insert("valid_until".into(), json!(valid_until));
    cert.insert("verify_url".into(), json!(verify_url(st, &code)));
    if let Some(old) = i.supersedes {
        cert.insert("supersedes".into(), json!(old.number));
    }
    let document = st.signing.sign(cert).map_err(AppError::Internal)?;
    let kid = document["signature"]["kid"].as_str().unwrap_or_default().to_owned();
    let m = certificate::ActiveModel {
        id: Set(i.id),
        type_id: Set(i.ty.id),
        number: Set(number),
        verify_code: Set(code),
        holder_id: Set(i.holder.id),
        affair_id: Set(i.affair_id),
        department_id: Set(i.ty.department_id),
        title: Set(i.ty.name.clone()),
        body: Set(body),
        data: Set(Value::Object(i.data)),
        document: Set(document),
        kid: Set(kid),
        status: Set(CertificateStatus::Valid.as_str().into()),
        issued_at: Set(issued_at),
        issued_by: Set(i.issued_by),
        valid_until: Set(valid_until),
        revoked_at: Set(None),
        revoked_by: Set(None),
        revoke_reason: Set(None),
        supersedes_id: Set(i.supersedes.map(|o| o.id)),
        superseded_by_id: Set(None),
        version: Set(1),
    }
    .insert(db)
    .await
    .map_err(unique_to_conflict)?;
    audit::record(
        db,
        ctx,
        Entry::new("certificate.issue", "certificate", m.id).after(&json!({
            "number": m.number, "type": i.ty.code, "holder_id": m.holder_id, "affair_id": m.affair_id,
            "supersedes_id": m.supersedes_id,
        })),
    )
    .await?;
    let data = cert_event(&m, &i.ty.code);
    crate::services::integrations::emit(db, WebhookEvent::CertificateIssued, Some(m.department_id), data).await?;
    Ok(m)
}

/// What integrators learn of a certificate (its number and verify code, not its contents).
fn cert_event(m: &certificate::Model, type_code: &str) -> Value {
    json!({ "certificate": {
        "id": m.id, "number": m.number, "type": type_code, "status": m.status, "holder_id": m.holder_id,
        "affair_id": m.affair_id, "verify_code": m.verify_code, "issued_at": m.issued_at, "revoked_at": m.revoked_at,
    } })
}

/// Issue a certificate by hand.
pub async fn issue(st: &AppState, p: &Principal, ctx: &AuditCtx, req: IssueCertificate) -> AppResult<CertificateView> {
    p.require(Permission::CertificateIssue)?;
    let ty = certificate_type::Entity::find_by_id(req.type_id)
        .one(st.db.conn())
        .await?
        .filter(|t| p.can_on(Permission::CertificateIssue, type_target(t)))
        .ok_or_else(|| AppError::field("type_id", "not_found", "证照类型不存在", "No such certificate type"))?;
    let holder = user::Entity::find_by_id(req.holder_id)
        .one(st.db.conn())
        .await?
        .ok_or_else(|| AppError::field("holder_id", "not_found", "持证人不存在", "No such holder"))?;
    if holder.status != crate::dto::org::UserStatus::Active.as_str() {
        return Err(AppError::field("holder_id", "inactive", "持证人账号已停用", "The holder's account is disabled"));
    }
    let txn = st.db.write().await?;
    let m = issue_in(
        st,
        &*txn,
        ctx,
        Issue {
            ty: &ty,
            holder: &holder,
            affair_id: None,
            data: req.data,
            issued_by: Some(p.user_id),
            supersedes: None,
            id: Uuid::now_v7(),
        },
    )
    .await?;
    let v = one_view(st, &*txn, m).await?;
    txn.commit().await?;
    Ok(v)
}

/// Issue the certificate of type `type_code` to an affair's applicant from its form data, once per
/// affair and type: a repeated call returns the certificate already issued.
pub async fn issue_for_affair(
    st: &AppState,
    affair: &crate::entity::affair::Model,
    type_code: &str,
) -> AppResult<certificate::Model> {
    let ty = certificate_type::Entity::find()
        .filter(certificate_type::Column::Code.eq(type_code))
        .one(st.db.conn())
        .await?
        .ok_or_else(|| {
            AppError::detail(
                ErrorCode::NotFound,
                format!("证照类型 {type_code} 不存在"),
                format!("No certificate type {type_code}"),
            )
        })?;
    let holder =
        user::Entity::find_by_id(affair.applicant_id).one(st.db.conn()).await?.ok_or_else(AppError::not_found)?;
    let txn = st.db.write().await?;
    if let Some(existing) = certificate::Entity::find()
        .filter(certificate::Column::AffairId.eq(affair.id))
        .filter(certificate::Column::TypeId.eq(ty.id))
        .one(&*txn)
        .await?
    {
        return Ok(existing);
    }
    let data = match affair.state.get("form").unwrap_or(&Value::Null) {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    let ctx = AuditCtx { actor_name: Some("system".into()), ..Default::default() };
    let issued = issue_in(
        st,
        &*txn,
        &ctx,
        Issue {
            ty: &ty,
            holder: &holder,
            affair_id: Some(affair.id),
            data,
            issued_by: None,
            supersedes: None,
            id: Uuid::now_v7(),
        },
    )
    .await;
    match issued {
        Ok(m) => {
            txn.commit().await?;
            Ok(m)
        }
        // Issued meanwhile by another run of the same call (the unique (affair, type) index).
        Err(AppError::Client { code: ErrorCode::AlreadyExists, .. }) => {
            drop(txn);
            certificate::Entity::find()
                .filter(certificate::Column::AffairId.eq(affair.id))
                .filter(certificate::Column::TypeId.eq(ty.id))
                .one(st.db.conn())
                .await?
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("certificate of affair {} vanished", affair.id)))
        }
        Err(e) => Err(e),
    }
}

/// Certificates issued by the caller's departments.
pub async fn list(st: &AppState, p: &Principal, q: &CertificateQuery) -> AppResult<Page<CertificateView>> {
    let scope = p.scope(Permission::CertificateIssue).ok_or_else(AppError::forbidden)?;
    let mut s = certificate::Entity::find();
    if let DataScope::Limited { departments, owner } = scope {
        let mut c = Condition::any().add(certificate::Column::DepartmentId.is_in(departments));
        if let Some(o) = owner {
            c = c.add(certificate::Column::HolderId.eq(o));
        }
        s = s.filter(c);
    }
    if let Some(h) = q.holder_id {
        s = s.filter(certificate::Column::HolderId.eq(h));
    }
    if let Some(t) = q.type_id {
        s = s.filter(certificate::Column::TypeId.eq(t));
    }
    if let Some(status) = q.status {
        s = s.filter(certificate::Column::Status.eq(status.as_str()));
    }
    page_of(st, s, &q.paging()).await
}

async fn page_of(
    st: &AppState,
    s: sea_orm::Select<certificate::Entity>,
    page: &PageQuery,
) -> AppResult<Page<CertificateView>> {
    let paginator = s
        .order_by_desc(certificate::Column::IssuedAt)
        .order_by_desc(certificate::Column::Id)
        .paginate(st.db.conn(), page.size());
    let total = paginator.num_items().await?;
    let rows = paginator.fetch_page(page.page() - 1).await?;
    let items = views(st, st.db.conn(), rows).await?;
    Ok(Page { items, total, page: page.page(), page_size: page.size() })
}

/// The caller's own certificates (the wallet).
pub async fn wallet(st: &AppState, p: &Principal, page: &PageQuery) -> AppResult<Page<CertificateView>> {
    page_of(st, certificate::Entity::find().filter(certificate::Column::HolderId.eq(p.user_id)), page).await
}

/// One certificate, for its holder or an issuer in scope.
pub async fn get(st: &AppState, p: &Principal, id: Uuid) -> AppResult<CertificateView> {
    let c = load_readable(st.db.conn(), p, id).await?;
    one_view(st, st.db.conn(), c).await
}

/// The signed document and the certificate's number (for the download's file name).
pub async fn document(st: &AppState, p: &Principal, id: Uuid) -> AppResult<(String, Value)> {
    let c = load_readable(st.db.conn(), p, id).await?;
    Ok((c.number, c.document))
}

/// The school: the root of the organisation tree, for the heading of documents.
pub(crate) async fn school<C: ConnectionTrait>(db: &C) -> AppResult<(String, Option<String>)> {
    let root = department::Entity::find()
        .filter(department::Column::ParentId.is_null())
        .order_by_asc(department::Column::SortOrder)
        .order_by_asc(department::Column::CreatedAt)
        .one(db)
        .await?;
    Ok(root.map(|d| (d.name, d.name_en)).unwrap_or_default())
}

/// The seal image of a type: the uploaded one (`layout.seal_key`), or one named by `layout.seal`
/// in the seals directory; none when the name is not a plain file name or no such image exists.
async fn seal_image(st: &AppState, layout: &Value) -> Option<Vec<u8>> {
    if let Some(key) = layout.get(SEAL_KEY).and_then(Value::as_str) {
        return match st.storage.get(key).await {
            Ok(b) => Some(b.to_vec()),
            Err(e) => {
                tracing::warn!(key, error = ?e, "seal image unavailable; drawing the seal instead");
                None
            }
        };
    }
    let name = layout.get("seal")?.as_str()?;
    if name.is_empty() || name.len() > 64 || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return None;
    }
    tokio::fs::read(st.settings.seals_dir().join(format!("{name}.png"))).await.ok()
}

/// The certificate as an A4 PDF for its holder or an issuer in scope: drawn as of now (a revoked,
/// superseded or expired certificate says so across the page), with a QR code to the public
/// verification page and the signed certificate attached.
pub async fn pdf(st: &AppState, p: &Principal, id: Uuid) -> AppResult<(String, Vec<u8>)> {
    use crate::pdf::certificate::{CertificatePage, Mark, render};
    let db = st.db.conn();
    let c = load_readable(db, p, id).await?;
    let ty = certificate_type::Entity::find_by_id(c.type_id).one(db).await?.ok_or_else(AppError::not_found)?;
    let issuer = department::Entity::find_by_id(c.department_id).one(db).await?.map(|d| d.name).unwrap_or_default();
    let (school, school_en) = school(db).await?;
    let seal = seal_image(st, &ty.layout).await;
    let mark = match CertificateStatus::parse(&c.status) {
        Some(CertificateStatus::Revoked) => Mark::Revoked,
        Some(CertificateStatus::Superseded) => Mark::Superseded,
        _ if c.valid_until.is_some_and(|u| u < now()) => Mark::Expired,
        _ => Mark::None,
    };
    let document = serde_json::to_vec(&c.document).map_err(|e| AppError::Internal(e.into()))?;
    let url = verify_url(st, &c.verify_code);
    let fonts = st.fonts.clone();
    let started = std::time::Instant::now();
    let bytes = tokio::task::spawn_blocking(move || {
        render(
            &fonts,
            &CertificatePage {
                school: &school,
                school_en: school_en.as_deref(),
                title: &c.title,
                title_en: ty.name_en.as_deref(),
                number: &c.number,
                body: &c.body,
                issuer: &issuer,
                issued_on: crate::time::china_day(c.issued_at),
                valid_until: c.valid_until.map(crate::time::china_day),
                verify_url: &url,
                verify_code: &c.verify_code,
                kid: &c.kid,
                seal: seal.as_deref(),
                mark,
                issued_at: c.issued_at,
                document: &document,
            },
        )
        .map(|b| (c.number.clone(), b))
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?
    .map_err(AppError::Internal)?;
    tracing::debug!(elapsed_ms = started.elapsed().as_millis() as u64, "certificate PDF drawn");
    Ok(bytes)
}

fn not_valid() -> AppError {
    AppError::detail(
        ErrorCode::RuleViolation,
        "只有有效的证照可以撤销或换发",
        "Only a valid certificate can be revoked or re-issued",
    )
}

/// Revoke a valid certificate, with a reason.
pub async fn revoke(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    id: Uuid,
    req: RevokeCertificate,
) -> AppResult<CertificateView> {
    let c = load_managed(st.db.conn(), p, id).await?;
    if c.status != CertificateStatus::Valid.as_str() {
        return Err(not_valid());
    }
    let txn = st.db.write().await?;
    let t = now();
    let r = certificate::Entity::update_many()
        .col_expr(certificate::Column::Status, Expr::value(CertificateStatus::Revoked.as_str()))
        .col_expr(certificate::Column::RevokedAt, Expr::value(t))
        .col_expr(certificate::Column::RevokedBy, Expr::value(p.user_id))
        .col_expr(certificate::Column::RevokeReason, Expr::value(req.reason.clone()))
        .col_expr(certificate::Column::Version, Expr::col(certificate::Column::Version).add(1))
        .filter(certificate::Column::Id.eq(id))
        .filter(certificate::Column::Version.eq(req.version))
        .filter(certificate::Column::Status.eq(CertificateStatus::Valid.as_str()))
        .exec(&*txn)
        .await?;
    if r.rows_affected != 1 {
        return Err(AppError::stale());
    }
    audit::record(
        &*txn,
        ctx,
        Entry::new("certificate.revoke", "certificate", id)
            .before(&json!({ "status": c.status }))
            .after(&json!({ "status": "revoked", "reason": req.reason })),
    )
    .await?;
    let after = certificate::Entity::find_by_id(id).one(&*txn).await?.ok_or_else(AppError::not_found)?;
    let code =
        certificate_type::Entity::find_by_id(after.type_id).one(&*txn).await?.map(|t| t.code).unwrap_or_default();
    let data = cert_event(&after, &code);
    crate::services::integrations::emit(&*txn, WebhookEvent::CertificateRevoked, Some(after.department_id), data)
        .await?;
    let v = one_view(st, &*txn, after).await?;
    txn.commit().await?;
    Ok(v)
}

/// Re-issue: a new certificate with a new number supersedes the old one, linked both ways.
pub async fn reissue(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    id: Uuid,
    req: ReissueCertificate,
) -> AppResult<CertificateView> {
    let old = load_managed(st.db.conn(), p, id).await?;
    if old.status != CertificateStatus::Valid.as_str() {
        return Err(not_valid());
    }
    let ty =
        certificate_type::Entity::find_by_id(old.type_id).one(st.db.conn()).await?.ok_or_else(AppError::not_found)?;
    let holder = user::Entity::find_by_id(old.holder_id).one(st.db.conn()).await?.ok_or_else(AppError::not_found)?;
    let data = match req.data {
        Some(d) => d,
        None => match &old.data {
            Value::Object(m) => m.clone(),
            _ => Map::new(),
        },
    };
    let new_id = Uuid::now_v7();
    let txn = st.db.write().await?;
    let r = certificate::Entity::update_many()
        .col_expr(certificate::Column::Status, Expr::value(CertificateStatus::Superseded.as_str()))
        .col_expr(certificate::Column::SupersededById, Expr::value(new_id))
        .col_expr(certificate::Column::Version, Expr::col(certificate::Column::Version).add(1))
        .filter(certificate::Column::Id.eq(id))
        .filter(certificate::Column::Version.eq(req.version))
        .filter(certificate::Column::Status.eq(CertificateStatus::Valid.as_str()))
        .exec(&*txn)
        .await?;
    if r.rows_affected != 1 {
        return Err(AppError::stale());
    }
    let m = issue_in(
        st,
        &*txn,
        ctx,
        Issue {
            ty: &ty,
            holder: &holder,
            affair_id: None,
            data,
            issued_by: Some(p.user_id),
            supersedes: Some(&old),
            id: new_id,
        },
    )
    .await?;
    audit::record(
        &*txn,
        ctx,
        Entry::new("certificate.supersede", "certificate", id)
            .after(&json!({ "status": "superseded", "superseded_by": m.number, "reason": req.reason })),
    )
    .await?;
    let v = one_view(st, &*txn, m).await?;
    txn.commit().await?;
    Ok(v)
}

/// Public verification by code: status and what the certificate itself shows, name masked.
pub async fn verify(st: &AppState, code: &str) -> AppResult<VerifyResult> {
    let db = st.db.conn();
    let c = certificate::Entity::find()
        .filter(certificate::Column::VerifyCode.eq(code))
        .one(db)
        .await?
        .ok_or_else(AppError::not_found)?;
    let ty = certificate_type::Entity::find_by_id(c.type_id).one(db).await?.ok_or_else(AppError::not_found)?;
    let holder = user::Entity::find_by_id(c.holder_id).one(db).await?.map(|u| u.display_name).unwrap_or_default();
    let dept = department::Entity::find_by_id(c.department_id).one(db).await?.map(|d| d.name).unwrap_or_default();
    let successor = match c.superseded_by_id {
        Some(s) => certificate::Entity::find_by_id(s).one(db).await?.map(|n| n.verify_code),
        None => None,
    };
    let status = match CertificateStatus::parse(&c.status) {
        Some(CertificateStatus::Revoked) => VerifyStatus::Revoked,
        Some(CertificateStatus::Superseded) => VerifyStatus::Superseded,
        _ if c.valid_until.is_some_and(|u| u < now()) => VerifyStatus::Expired,
        _ => VerifyStatus::Valid,
    };
    Ok(VerifyResult {
        status,
        number: c.number,
        type_name: ty.name,
        type_name_en: ty.name_en,
        holder_name: mask_name(&holder),
        department_name: dept,
        issued_at: c.issued_at,
        valid_until: c.valid_until,
        superseded_by_code: successor,
        revoked_at: c.revoked_at,
        revoke_reason: c.revoke_reason,
    })
}

/// The demo's certificate types: 在读证明 (`enrolment`, named by the demo 在读证明 process's
/// service task), issued by 学生工作处.
pub(crate) async fn seed_demo_types<C: ConnectionTrait>(
    db: &C,
    depts: &std::collections::HashMap<&str, Uuid>,
) -> AppResult<usize> {
    let Some(xgc) = depts.get("xgc").copied() else { return Ok(0) };
    let t = now();
    certificate_type::ActiveModel {
        id: Set(Uuid::now_v7()),
        code: Set("enrolment".into()),
        name: Set("在读证明".into()),
        name_en: Set(Some("Certificate of Enrolment".into())),
        department_id: Set(xgc),
        template: Set(DEMO_ENROLMENT_TEMPLATE.into()),
        validity_days: Set(Some(90)),
        number_prefix: Set("ZM".into()),
        layout: Set(json!({ "paper": "A4", "seal": "xgc" })),
        version: Set(1),
        created_at: Set(t),
        updated_at: Set(t),
    }
    .insert(db)
    .await?;
    Ok(1)
}

/// The body of the demo 在读证明, over the holder and the 在读证明 application form.
pub const DEMO_ENROLMENT_TEMPLATE: &str = "\
{%- set purposes = {\"visa\": \"出国/签证\", \"internship\": \"实习\", \"documents\": \"办理证件\"} -%}
兹证明 {{ holder.name }} 同学（学号：{{ holder.student_no or \"—\" }}）系我校\
{% if holder.department %}{{ holder.department }}{% endif %}在读学生，学籍状态正常，目前在校学习。
{% if data.purpose == \"other\" and data.purpose_detail -%}
本证明用于{{ data.purpose_detail }}。
{% elif data.purpose in purposes -%}
本证明用于{{ purposes[data.purpose] }}。
{% endif -%}
特此证明。
本证明自签发之日起九十日内有效，可扫描二维码或访问验证地址在线核验真伪。";

/// The certificates a form names in `certificate` fields, with the references, keeping only those
/// held by `holder` (by id, with their type): others' certificates are as good as absent.
#[allow(clippy::type_complexity)]
async fn named_certificates<'a, C: ConnectionTrait>(
    db: &C,
    def: &'a tongban_engine::form::FormDefinition,
    data: &Value,
    holder: Uuid,
) -> AppResult<(Vec<tongban_engine::form::Reference<'a>>, HashMap<Uuid, (certificate::Model, certificate_type::Model)>)>
{
    use tongban_engine::form::{self, FieldKind};
    let refs: Vec<_> = form::references(def, data)
        .into_iter()
        .filter(|r| matches!(r.field.kind, FieldKind::Certificate { .. }))
        .collect();
    let ids: Vec<Uuid> = refs.iter().filter_map(|r| r.id.parse().ok()).collect();
    if ids.is_empty() {
        return Ok((refs, HashMap::new()));
    }
    let rows: Vec<certificate::Model> = certificate::Entity::find()
        .filter(certificate::Column::Id.is_in(ids))
        .filter(certificate::Column::HolderId.eq(holder))
        .all(db)
        .await?;
    let types: HashMap<Uuid, certificate_type::Model> = certificate_type::Entity::find()
        .filter(certificate_type::Column::Id.is_in(rows.iter().map(|c| c.type_id).collect::<HashSet<_>>()))
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    let held = rows
        .into_iter()
        .filter_map(|c| {
            let t = types.get(&c.type_id)?.clone();
            Some((c.id, (c, t)))
        })
        .collect();
    Ok((refs, held))
}

/// Check every certificate a form names (a `certificate` field, 第十一条): it must be the
/// applicant's, valid now, and of the field's type. Certificates of other people are reported as
/// not found, so nobody learns they exist.
pub(crate) async fn check_materials<C: ConnectionTrait>(
    db: &C,
    def: &tongban_engine::form::FormDefinition,
    data: &Value,
    holder: Uuid,
) -> AppResult<()> {
    use tongban_engine::form::FieldKind;
    let (refs, held) = named_certificates(db, def, data, holder).await?;
    let mut errors = Vec::new();
    for r in &refs {
        let FieldKind::Certificate { certificate_type } = &r.field.kind else { continue };
        let Some((c, ty)) = r.id.parse::<Uuid>().ok().and_then(|id| held.get(&id)) else {
            errors.push(FieldError::new(
                &r.path,
                "certificate_not_found",
                Msg::new("电子证照不存在或不属于申请人", "No such certificate of the applicant"),
            ));
            continue;
        };
        if c.status != CertificateStatus::Valid.as_str() || c.valid_until.is_some_and(|u| u <= now()) {
            errors.push(FieldError::new(
                &r.path,
                "certificate_not_valid",
                Msg::new(
                    format!("电子证照 {} 已失效（已撤销、已被换发或已过期）", c.number),
                    format!("Certificate {} is no longer valid (revoked, superseded or expired)", c.number),
                ),
            ));
            continue;
        }
        if let Some(want) = certificate_type
            && &ty.code != want
        {
            errors.push(FieldError::new(
                &r.path,
                "certificate_wrong_type",
                Msg::new("所选电子证照的类型不符合要求", "The certificate is not of the required type"),
            ));
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(AppError::fields(errors)) }
}

/// The certificates a (visible) form names, as checked now: held by the applicant, valid, and
/// carrying a signature that holds.
pub(crate) async fn materials_of<C: ConnectionTrait>(
    db: &C,
    signing: &crate::signing::KeyRing,
    def: &tongban_engine::form::FormDefinition,
    shown: &Value,
    holder: Uuid,
) -> AppResult<Vec<crate::dto::affair::CertificateMaterial>> {
    let (refs, held) = named_certificates(db, def, shown, holder).await?;
    let now = now();
    Ok(refs
        .iter()
        .filter_map(|r| {
            let (c, ty) = r.id.parse::<Uuid>().ok().and_then(|id| held.get(&id))?;
            let expired = c.valid_until.is_some_and(|u| u <= now);
            let status =
                if c.status == CertificateStatus::Valid.as_str() && expired { "expired" } else { c.status.as_str() };
            Some(crate::dto::affair::CertificateMaterial {
                field_key: r.path.clone(),
                label: r.field.label.clone(),
                certificate_id: c.id,
                number: c.number.clone(),
                type_name: ty.name.clone(),
                status: status.to_owned(),
                valid_until: c.valid_until,
                verified: status == CertificateStatus::Valid.as_str() && signing.verify(&c.document).is_ok(),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_all_but_the_first_character() {
        assert_eq!(mask_name("林静"), "林*");
        assert_eq!(mask_name("欧阳明月"), "欧***");
        assert_eq!(mask_name("王"), "王*");
    }

    #[test]
    fn renders_plain_text_and_refuses_bad_templates() {
        let holder = json!({ "name": "<林静>" });
        let mut data = Map::new();
        data.insert("grade".into(), json!("2024级"));
        let out = render("兹证明 {{ holder.name }} 同学系 {{ data.grade }} 学生。", &holder, &data).expect("render");
        assert_eq!(out, "兹证明 <林静> 同学系 2024级 学生。");
        assert!(check_template("{% for x in %}").is_err());
        check_template(DEMO_ENROLMENT_TEMPLATE).expect("the demo template parses");
        // Parses, but cannot be rendered: 400 on the data, not 500.
        let err = render("{{ data.missing.deeper }}", &holder, &data).expect_err("undefined attribute");
        assert_eq!(err.error_code(), ErrorCode::ValidationFailed);
        let student = json!({ "name": "林静", "student_no": "2024010001", "department": "计算机学院" });
        let mut form = Map::new();
        form.insert("purpose".into(), json!("visa"));
        let body = render(DEMO_ENROLMENT_TEMPLATE, &student, &form).expect("render demo");
        assert!(body.starts_with("兹证明 林静 同学（学号：2024010001）系我校计算机学院在读学生"), "{body}");
        assert!(body.contains("本证明用于出国/签证。"), "{body}");
        assert!(
            render("{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}", &holder, &data)
                .is_err()
        );
    }
}
