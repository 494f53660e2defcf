//! Live notifications for the SSE stream.
//!
//! Notifications are written inside the transaction of the change that caused them, so they can
//! only be announced after commit, and possibly by another server instance. One poller per
//! instance therefore reads the notifications created since its last look (about once a second,
//! and only while someone is listening) and broadcasts them to this instance's open streams,
//! which pick out their own user's. The in-app list stays the record; the stream is the live hint.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::entity::notification;
use crate::services::notifications::NotificationView;
use crate::state::AppState;
use crate::time::now;

/// How far back each look reaches past the last one, for transactions that committed late.
const OVERLAP: TimeDelta = TimeDelta::seconds(5);
/// Most notifications announced per look.
const BATCH: u64 = 2000;

/// One notification for one user.
#[derive(Debug)]
pub struct LiveEvent {
    /// The recipient.
    pub user_id: Uuid,
    /// The notification.
    pub view: NotificationView,
}

/// Fan-out of new notifications to this instance's open streams.
#[derive(Debug)]
pub struct LiveHub {
    tx: broadcast::Sender<Arc<LiveEvent>>,
    closed: tokio::sync::watch::Sender<bool>,
}

impl Default for LiveHub {
    fn default() -> Self {
        LiveHub { tx: broadcast::channel(4096).0, closed: tokio::sync::watch::channel(false).0 }
    }
}

impl LiveHub {
    /// End every open stream (at shutdown).
    pub fn close(&self) {
        self.closed.send_replace(true);
    }

    /// Becomes `true` when the streams should end.
    pub fn closing(&self) -> tokio::sync::watch::Receiver<bool> {
        self.closed.subscribe()
    }

    /// Listen to every new notification (streams filter their user's).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LiveEvent>> {
        self.tx.subscribe()
    }

    /// Open streams on this instance.
    pub fn listeners(&self) -> usize {
        self.tx.receiver_count()
    }

    fn publish(&self, m: notification::Model) {
        let _ = self.tx.send(Arc::new(LiveEvent { user_id: m.user_id, view: m.into() }));
    }
}

/// The poller's memory: the newest creation time seen and the ids announced within the overlap.
struct Cursor {
    mark: DateTime<Utc>,
    seen: HashMap<Uuid, DateTime<Utc>>,
}

async fn look(st: &AppState, c: &mut Cursor) -> Result<(), sea_orm::DbErr> {
    let rows = notification::Entity::find()
        .filter(notification::Column::CreatedAt.gt(c.mark - OVERLAP))
        .order_by_asc(notification::Column::CreatedAt)
        .limit(BATCH)
        .all(st.db.conn())
        .await?;
    for m in rows {
        if c.seen.contains_key(&m.id) {
            continue;
        }
        c.seen.insert(m.id, m.created_at);
        c.mark = c.mark.max(m.created_at);
        st.live.publish(m);
    }
    let keep_after = c.mark - OVERLAP - OVERLAP;
    c.seen.retain(|_, at| *at > keep_after);
    Ok(())
}

/// Announce new notifications until the process ends.
pub fn spawn(st: AppState) {
    actix_web::rt::spawn(async move {
        let mut c = Cursor { mark: now(), seen: HashMap::new() };
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if st.live.listeners() == 0 {
                // Nobody listens: nothing to announce, and nothing old to announce later.
                c.mark = now();
                c.seen.clear();
                continue;
            }
            if let Err(e) = look(&st, &mut c).await {
                tracing::warn!(error = %e, "live notifications");
            }
        }
    });
}
