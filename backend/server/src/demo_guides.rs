//! The demo college's hall: themes, published guides for its common services (linked to the demo
//! processes where one exists, "线下办理" guides otherwise) and quick channels. The data are JSON
//! files in `backend/server/demo/guides/`, embedded in the binary.

use std::collections::HashMap;

use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::Deserialize;
use uuid::Uuid;
use validator::Validate;

use crate::dto::hall::{Audience, GuideContent};
use crate::entity::{category, guide, guide_version, hall_link, process};
use crate::error::{AppError, AppResult};
use crate::time::now;

const CATALOGUE: &str = include_str!("../demo/guides/catalogue.json");
const GUIDES: &str = include_str!("../demo/guides/guides.json");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Catalogue {
    categories: Vec<DemoCategory>,
    links: Vec<DemoLink>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoCategory {
    code: String,
    name: String,
    name_en: String,
    icon: String,
    description: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoLink {
    title: String,
    title_en: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    guide: Option<String>,
    icon: String,
    audiences: Vec<Audience>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoGuide {
    code: String,
    department: String,
    category: String,
    process: Option<String>,
    #[serde(default)]
    protected: bool,
    recommended: bool,
    recommend_rank: i32,
    content: GuideContent,
}

fn bad(what: impl std::fmt::Display) -> AppError {
    AppError::Internal(anyhow::anyhow!("demo guides: {what}"))
}

/// Create the demo themes, guides (each published as version 1) and quick links. Returns how many
/// guides were created.
pub async fn seed<C: ConnectionTrait>(db: &C, depts: &HashMap<&str, Uuid>, publisher: Uuid) -> AppResult<usize> {
    let catalogue: Catalogue = serde_json::from_str(CATALOGUE).map_err(bad)?;
    let guides: Vec<DemoGuide> = serde_json::from_str(GUIDES).map_err(bad)?;
    let t = now();
    let mut categories: HashMap<String, Uuid> = HashMap::new();
    for (i, c) in catalogue.categories.into_iter().enumerate() {
        let id = Uuid::now_v7();
        category::ActiveModel {
            id: Set(id),
            code: Set(c.code.clone()),
            name: Set(c.name),
            name_en: Set(Some(c.name_en)),
            description: Set(c.description),
            icon: Set(Some(c.icon)),
            sort_order: Set(i as i32 * 10),
            version: Set(1),
            created_at: Set(t),
            updated_at: Set(t),
        }
        .insert(db)
        .await?;
        categories.insert(c.code, id);
    }
    let mut ids: HashMap<String, Uuid> = HashMap::new();
    for g in &guides {
        let department_id =
            *depts.get(g.department.as_str()).ok_or_else(|| bad(format!("department {}", g.department)))?;
        let mut content = g.content.clone();
        content.category_id =
            Some(*categories.get(&g.category).ok_or_else(|| bad(format!("category {}", g.category)))?);
        content.process_id = match &g.process {
            None => None,
            Some(key) => Some(
                process::Entity::find()
                    .filter(process::Column::Key.eq(key))
                    .one(db)
                    .await?
                    .ok_or_else(|| bad(format!("process {key}")))?
                    .id,
            ),
        };
        content.validate().map_err(|e| bad(format!("guide {} is invalid: {e}", g.code)))?;
        let id = Uuid::now_v7();
        guide::ActiveModel {
            id: Set(id),
            code: Set(g.code.clone()),
            department_id: Set(department_id),
            category_id: Set(content.category_id),
            process_id: Set(content.process_id),
            name: Set(content.name.clone()),
            name_en: Set(content.name_en.clone()),
            summary: Set(content.summary.clone()),
            keywords: Set(content.keywords.clone()),
            audiences: Set(serde_json::to_value(&content.audiences).map_err(bad)?),
            channels: Set(serde_json::to_value(&content.channels).map_err(bad)?),
            status: Set("published".into()),
            published_version: Set(Some(1)),
            latest_version: Set(1),
            recommended: Set(g.recommended),
            recommend_rank: Set(g.recommend_rank),
            protected: Set(g.protected),
            version: Set(1),
            created_at: Set(t),
            updated_at: Set(t),
            published_at: Set(Some(t)),
        }
        .insert(db)
        .await?;
        guide_version::ActiveModel {
            id: Set(Uuid::now_v7()),
            guide_id: Set(id),
            number: Set(1),
            status: Set("published".into()),
            content: Set(serde_json::to_value(&content).map_err(bad)?),
            created_by: Set(publisher),
            created_at: Set(t),
            published_by: Set(Some(publisher)),
            published_at: Set(Some(t)),
        }
        .insert(db)
        .await?;
        ids.insert(g.code.clone(), id);
    }
    for (i, l) in catalogue.links.into_iter().enumerate() {
        let guide_id = match &l.guide {
            None => None,
            Some(code) => Some(*ids.get(code).ok_or_else(|| bad(format!("link to guide {code}")))?),
        };
        hall_link::ActiveModel {
            id: Set(Uuid::now_v7()),
            title: Set(l.title),
            title_en: Set(Some(l.title_en)),
            url: Set(l.url),
            guide_id: Set(guide_id),
            icon: Set(Some(l.icon)),
            audiences: Set(serde_json::to_value(&l.audiences).map_err(bad)?),
            sort_order: Set(i as i32 * 10),
            version: Set(1),
            created_at: Set(t),
            updated_at: Set(t),
        }
        .insert(db)
        .await?;
    }
    Ok(guides.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_guides_are_complete() {
        let guides: Vec<DemoGuide> = serde_json::from_str(GUIDES).expect("guides.json");
        assert!(guides.len() >= 10);
        let catalogue: Catalogue = serde_json::from_str(CATALOGUE).expect("catalogue.json");
        for g in &guides {
            assert!(g.content.validate().is_ok(), "{}: {:?}", g.code, g.content.validate());
            assert!(!g.content.conditions.is_empty(), "{}", g.code);
            assert!(!g.content.contact.phone.is_empty() && !g.content.contact.location.is_empty(), "{}", g.code);
            assert!(g.process.is_some() || !g.content.offline_steps.is_empty(), "{}: say how to apply", g.code);
            assert!(catalogue.categories.iter().any(|c| c.code == g.category), "{}", g.code);
        }
        for l in &catalogue.links {
            assert!(l.url.is_some() != l.guide.is_some(), "{}", l.title);
            if let Some(code) = &l.guide {
                assert!(guides.iter().any(|g| &g.code == code), "{code}");
            }
        }
    }
}
