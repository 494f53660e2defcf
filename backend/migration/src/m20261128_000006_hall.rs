//! The service hall (#4): catalogue (categories, guides with versions, quick links), files in the
//! object store, drafts, favourites and recent visits, ratings, consultation and affair messages.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn idx(name: &str, table: &'static str, cols: &[&'static str]) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(table);
    for c in cols {
        i.col(*c);
    }
    i.to_owned()
}

fn fk(name: &str, from: (&'static str, &'static str), to: (&'static str, &'static str)) -> ForeignKeyCreateStatement {
    ForeignKey::create().name(name).from(from.0, from.1).to(to.0, to.1).to_owned()
}

fn fk_cascade(
    name: &str,
    from: (&'static str, &'static str),
    to: (&'static str, &'static str),
) -> ForeignKeyCreateStatement {
    ForeignKey::create().name(name).from(from.0, from.1).to(to.0, to.1).on_delete(ForeignKeyAction::Cascade).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Themes of the hall (学籍证明, 请假销假, 财务报销 …).
        m.create_table(
            Table::create()
                .table("categories")
                .col(pk_uuid("id"))
                .col(string_len_uniq("code", 32))
                .col(string_len("name", 64))
                .col(string_len_null("name_en", 64))
                .col(string_len("description", 500).default(""))
                .col(string_len_null("icon", 64))
                .col(integer("sort_order").default(0))
                .col(integer("version").default(1))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;

        // A service guide (办事指南). The row holds what lists, the hall and search need; the full
        // content of each edit lives in `guide_versions`.
        m.create_table(
            Table::create()
                .table("guides")
                .col(pk_uuid("id"))
                .col(string_len_uniq("code", 64))
                .col(uuid("department_id"))
                .col(uuid_null("category_id"))
                .col(uuid_null("process_id"))
                .col(string_len("name", 128))
                .col(string_len_null("name_en", 128))
                .col(string_len("summary", 500).default(""))
                .col(string_len("keywords", 500).default(""))
                .col(json_binary("audiences"))
                .col(json_binary("channels"))
                .col(string_len("status", 16))
                .col(integer_null("published_version"))
                .col(integer("latest_version").default(0))
                .col(boolean("recommended").default(false))
                .col(integer("recommend_rank").default(0))
                .col(boolean("protected").default(false))
                .col(integer("version").default(1))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .col(timestamp_with_time_zone_null("published_at"))
                .foreign_key(&mut fk("fk_guides_department", ("guides", "department_id"), ("departments", "id")))
                .foreign_key(&mut fk("fk_guides_category", ("guides", "category_id"), ("categories", "id")))
                .foreign_key(&mut fk("fk_guides_process", ("guides", "process_id"), ("processes", "id")))
                .to_owned(),
        )
        .await?;
        m.create_index(idx("idx_guides_status_category", "guides", &["status", "category_id"])).await?;
        m.create_index(idx("idx_guides_department", "guides", &["department_id"])).await?;
        m.create_index(idx("idx_guides_process", "guides", &["process_id"])).await?;
        m.create_index(idx("idx_guides_updated", "guides", &["updated_at"])).await?;

        m.create_table(
            Table::create()
                .table("guide_versions")
                .col(pk_uuid("id"))
                .col(uuid("guide_id"))
                .col(integer("number"))
                .col(string_len("status", 16))
                .col(json_binary("content"))
                .col(uuid("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(uuid_null("published_by"))
                .col(timestamp_with_time_zone_null("published_at"))
                .foreign_key(&mut fk_cascade(
                    "fk_guide_versions_guide",
                    ("guide_versions", "guide_id"),
                    ("guides", "id"),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(idx("uq_guide_versions_number", "guide_versions", &["guide_id", "number"]).unique().to_owned())
            .await?;

        // Quick channels (快捷通道) configured by the IT office.
        m.create_table(
            Table::create()
                .table("hall_links")
                .col(pk_uuid("id"))
                .col(string_len("title", 64))
                .col(string_len_null("title_en", 64))
                .col(string_len_null("url", 500))
                .col(uuid_null("guide_id"))
                .col(string_len_null("icon", 64))
                .col(json_binary("audiences"))
                .col(integer("sort_order").default(0))
                .col(integer("version").default(1))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk_cascade("fk_hall_links_guide", ("hall_links", "guide_id"), ("guides", "id")))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("favorites")
                .col(pk_uuid("id"))
                .col(uuid("user_id"))
                .col(uuid("guide_id"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk_cascade("fk_favorites_user", ("favorites", "user_id"), ("users", "id")))
                .foreign_key(&mut fk_cascade("fk_favorites_guide", ("favorites", "guide_id"), ("guides", "id")))
                .to_owned(),
        )
        .await?;
        m.create_index(idx("uq_favorites_user_guide", "favorites", &["user_id", "guide_id"]).unique().to_owned())
            .await?;

        // Recently visited guides, one row per user and guide.
        m.create_table(
            Table::create()
                .table("guide_visits")
                .col(pk_uuid("id"))
                .col(uuid("user_id"))
                .col(uuid("guide_id"))
                .col(integer("visits").default(1))
                .col(timestamp_with_time_zone("last_at"))
                .foreign_key(&mut fk_cascade("fk_guide_visits_user", ("guide_visits", "user_id"), ("users", "id")))
                .foreign_key(&mut fk_cascade("fk_guide_visits_guide", ("guide_visits", "guide_id"), ("guides", "id")))
                .to_owned(),
        )
        .await?;
        m.create_index(idx("uq_guide_visits_user_guide", "guide_visits", &["user_id", "guide_id"]).unique().to_owned())
            .await?;
        m.create_index(idx("idx_guide_visits_user_last", "guide_visits", &["user_id", "last_at"])).await?;

        // An application being written (草稿). It becomes an affair on submission.
        m.create_table(
            Table::create()
                .table("affair_drafts")
                .col(pk_uuid("id"))
                .col(uuid("applicant_id"))
                .col(uuid_null("guide_id"))
                .col(uuid("process_id"))
                .col(string_len("title", 200))
                .col(json_binary("form"))
                .col(json_binary("picks"))
                .col(integer("version").default(1))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk_cascade("fk_drafts_applicant", ("affair_drafts", "applicant_id"), ("users", "id")))
                .foreign_key(&mut fk_cascade("fk_drafts_guide", ("affair_drafts", "guide_id"), ("guides", "id")))
                .foreign_key(&mut fk("fk_drafts_process", ("affair_drafts", "process_id"), ("processes", "id")))
                .to_owned(),
        )
        .await?;
        m.create_index(idx("idx_drafts_applicant", "affair_drafts", &["applicant_id", "updated_at"])).await?;

        // Files in the object store: application materials and guides' sample forms (示范文本及空表).
        m.create_table(
            Table::create()
                .table("files")
                .col(pk_uuid("id"))
                .col(string_len("purpose", 32))
                .col(uuid("owner_id"))
                .col(uuid_null("guide_id"))
                .col(uuid_null("draft_id"))
                .col(uuid_null("affair_id"))
                .col(string_len_null("field_key", 64))
                .col(string_len("filename", 255))
                .col(string_len("content_type", 128))
                .col(big_integer("size"))
                .col(string_len("sha256", 64))
                .col(string_len_uniq("storage_key", 255))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("deleted_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(idx("idx_files_affair", "files", &["affair_id"])).await?;
        m.create_index(idx("idx_files_draft", "files", &["draft_id"])).await?;
        m.create_index(idx("idx_files_guide", "files", &["guide_id"])).await?;
        m.create_index(idx("idx_files_owner_created", "files", &["owner_id", "created_at"])).await?;

        // The guide an affair was started from, for the hall's "hot services".
        m.alter_table(Table::alter().table("affairs").add_column(uuid_null("guide_id")).to_owned()).await?;
        m.create_index(idx("idx_affairs_guide_submitted", "affairs", &["guide_id", "submitted_at"])).await?;

        // 评价: one rating per affair, by its applicant, after completion.
        m.create_table(
            Table::create()
                .table("affair_ratings")
                .col(pk_uuid("id"))
                .col(uuid_uniq("affair_id"))
                .col(uuid("user_id"))
                .col(uuid_null("guide_id"))
                .col(small_integer("score"))
                .col(text("comment").default(""))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk_cascade("fk_ratings_affair", ("affair_ratings", "affair_id"), ("affairs", "id")))
                .to_owned(),
        )
        .await?;
        m.create_index(idx("idx_ratings_guide", "affair_ratings", &["guide_id", "created_at"])).await?;

        // 在线咨询: questions on a guide, answers by the department's staff; answered questions can
        // be published as the guide's FAQ.
        m.create_table(
            Table::create()
                .table("questions")
                .col(pk_uuid("id"))
                .col(uuid("guide_id"))
                .col(uuid("asker_id"))
                .col(text("body"))
                .col(string_len("status", 16))
                .col(boolean("is_faq").default(false))
                .col(integer("version").default(1))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk_cascade("fk_questions_guide", ("questions", "guide_id"), ("guides", "id")))
                .foreign_key(&mut fk_cascade("fk_questions_asker", ("questions", "asker_id"), ("users", "id")))
                .to_owned(),
        )
        .await?;
        m.create_index(idx("idx_questions_guide", "questions", &["guide_id", "created_at"])).await?;
        m.create_index(idx("idx_questions_asker", "questions", &["asker_id", "created_at"])).await?;

        m.create_table(
            Table::create()
                .table("answers")
                .col(pk_uuid("id"))
                .col(uuid("question_id"))
                .col(uuid("responder_id"))
                .col(text("body"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk_cascade("fk_answers_question", ("answers", "question_id"), ("questions", "id")))
                .to_owned(),
        )
        .await?;
        m.create_index(idx("idx_answers_question", "answers", &["question_id", "created_at"])).await?;

        // Messages on an affair between its applicant and its handlers.
        m.create_table(
            Table::create()
                .table("affair_messages")
                .col(pk_uuid("id"))
                .col(uuid("affair_id"))
                .col(uuid("sender_id"))
                .col(text("body"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk_cascade("fk_messages_affair", ("affair_messages", "affair_id"), ("affairs", "id")))
                .to_owned(),
        )
        .await?;
        m.create_index(idx("idx_messages_affair", "affair_messages", &["affair_id", "created_at"])).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "affair_messages",
            "answers",
            "questions",
            "affair_ratings",
            "files",
            "affair_drafts",
            "guide_visits",
            "favorites",
            "hall_links",
            "guide_versions",
            "guides",
            "categories",
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        m.drop_index(Index::drop().name("idx_affairs_guide_submitted").table("affairs").to_owned()).await?;
        m.alter_table(Table::alter().table("affairs").drop_column("guide_id").to_owned()).await
    }
}
