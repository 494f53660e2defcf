//! Each instance keeps the grants it resolved for a caller; a change to what someone may do is in
//! force on their very next request on every instance, whether it was made through the API of
//! another instance or in the database directly.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use tongban_server::entity::{user, user_role};

use crate::db_test;
use crate::helpers::TestApp;

async fn version(app: &TestApp) -> i64 {
    use sea_orm::ConnectionTrait;
    let db = app.state.db.conn();
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(db.get_database_backend(), "SELECT version FROM authz_version"))
        .await
        .expect("query")
        .expect("the version row");
    row.try_get::<i64>("", "version").expect("version")
}

async fn grants_follow_every_change_on_every_instance(app: &TestApp) {
    let (other, handle) = app.second_instance().await;

    let admin = app.login("it_admin").await;
    let teacher = app.login("counsellor1").await;
    let student = app.user_id(&admin, "student1").await;
    let gate = format!("/api/v1/users/{student}/sessions");
    // Both instances resolve (and keep) the counsellor's grants: no one else's sessions for them.
    let mut before = Vec::new();
    for i in [app, &other] {
        let r = i.get(&gate, Some(&teacher.access)).await;
        let status = r.status.as_u16();
        assert!(status == 403 || status == 404, "{status}: {}", r.body);
        before.push(status);
    }
    assert!(!app.state.principals.is_empty() && !other.state.principals.is_empty(), "principals are kept");

    // The IT office gives the counsellor a user-desk role through the first instance …
    let desk = app
        .post(
            "/api/v1/roles",
            Some(&admin.access),
            &json!({ "code": "session_desk", "name": "账号服务台", "permissions": ["user.manage", "org.read"] }),
        )
        .await
        .expect(201)
        .body;
    let teacher_id = app.user_id(&admin, "counsellor1").await;
    let current = app.get(&format!("/api/v1/users/{teacher_id}/roles"), Some(&admin.access)).await.expect(200).body;
    let mut assigned: Vec<Value> = current["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .map(|r| json!({ "role_id": r["role_id"], "scope": r["scope"], "department_id": r["department_id"] }))
        .collect();
    assigned.push(json!({ "role_id": desk["id"], "scope": "all" }));
    app.put(
        &format!("/api/v1/users/{teacher_id}/roles"),
        Some(&admin.access),
        &json!({ "roles": assigned, "version": current["version"] }),
    )
    .await
    .expect(200);
    // … and the same token reads them on both at once.
    for i in [&other, app] {
        i.get(&gate, Some(&teacher.access)).await.expect(200);
    }

    // Taken away in the database itself (a DBA, a restore): gone on both.
    let db = app.state.db.conn();
    let teacher_uuid: uuid::Uuid = teacher_id.parse().expect("uuid");
    let desk_uuid: uuid::Uuid = desk["id"].as_str().expect("id").parse().expect("uuid");
    let gone = user_role::Entity::delete_many()
        .filter(user_role::Column::UserId.eq(teacher_uuid))
        .filter(user_role::Column::RoleId.eq(desk_uuid))
        .exec(db)
        .await
        .expect("delete the assignment");
    assert_eq!(gone.rows_affected, 1);
    for (i, was) in [app, &other].into_iter().zip(before) {
        i.get(&gate, Some(&teacher.access)).await.expect(was);
    }

    // What a principal carries moves the version; other changes to the account do not.
    let renamed = version(app).await;
    user::Entity::update_many()
        .col_expr(user::Column::DisplayName, Expr::value("改名后的辅导员"))
        .filter(user::Column::Id.eq(teacher_uuid))
        .exec(db)
        .await
        .expect("rename");
    assert!(version(app).await > renamed, "a new display name moves the version");
    let touched = version(app).await;
    user::Entity::update_many()
        .col_expr(user::Column::Email, Expr::value("c1@example.edu.cn"))
        .filter(user::Column::Id.eq(teacher_uuid))
        .exec(db)
        .await
        .expect("new e-mail");
    assert_eq!(version(app).await, touched, "an e-mail address is not part of a principal");

    // Disabled in the database: the token stops working everywhere, cached or not.
    user::Entity::update_many()
        .col_expr(user::Column::Status, Expr::value("disabled"))
        .filter(user::Column::Id.eq(teacher_uuid))
        .exec(db)
        .await
        .expect("disable");
    for i in [app, &other] {
        assert_eq!(i.get("/api/v1/me", Some(&teacher.access)).await.expect(401).code(), "token_invalid");
    }
    handle.stop(true).await;
}
db_test!(principals_follow_changes, grants_follow_every_change_on_every_instance);
