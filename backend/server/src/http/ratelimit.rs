//! Request rate limits (GCRA, in memory per instance): per signed-in user, and per client address
//! for requests without a valid token. The address is the peer's, or the forwarded one when the
//! peer is a trusted proxy (`http::extract::client_ip`). Exceeding answers 429 problem+json with
//! `Retry-After`; health, readiness and metrics are never limited.

use std::num::NonZeroU32;
use std::time::Duration;

use actix_web::body::BoxBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, ResponseError, web};
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::RateLimitSettings;
use crate::error::{AppError, ErrorCode};
use crate::state::AppState;

/// The limiters of one instance.
pub struct RateLimits {
    users: Option<DefaultKeyedRateLimiter<uuid::Uuid>>,
    addresses: Option<DefaultKeyedRateLimiter<String>>,
}

fn quota(per_minute: u32, burst: u32) -> Option<Quota> {
    let rate = NonZeroU32::new(per_minute)?;
    let burst = NonZeroU32::new(burst.max(1))?;
    Some(Quota::per_minute(rate).allow_burst(burst))
}

impl RateLimits {
    /// Limiters for the settings (a 0 rate switches that limit off).
    pub fn new(s: &RateLimitSettings) -> RateLimits {
        RateLimits {
            users: quota(s.per_user_per_minute, s.burst).map(RateLimiter::keyed),
            addresses: quota(s.per_ip_per_minute, s.burst).map(RateLimiter::keyed),
        }
    }

    /// Forget keys that have recovered their full burst (keeps memory bounded).
    pub fn prune(&self) {
        if let Some(l) = &self.users {
            l.retain_recent();
        }
        if let Some(l) = &self.addresses {
            l.retain_recent();
        }
    }

    /// `Err(wait)` when the key is over its limit.
    fn check(&self, user: Option<uuid::Uuid>, address: Option<String>) -> Result<(), Duration> {
        // The limiter's own clock: making a clock (`DefaultClock::default()`) calibrates it with
        // CPUID and a timing loop, which once cost a third of an anonymous request's CPU.
        match (user, &self.users, address, &self.addresses) {
            (Some(u), Some(l), _, _) => l.check_key(&u).map_err(|n| n.wait_time_from(l.clock().now())),
            (None, _, Some(a), Some(l)) => l.check_key(&a).map_err(|n| n.wait_time_from(l.clock().now())),
            _ => Ok(()),
        }
    }
}

/// The middleware.
pub async fn limit(req: ServiceRequest, next: Next<BoxBody>) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let path = req.path();
    if matches!(path, "/healthz" | "/readyz" | "/metrics") {
        return next.call(req).await;
    }
    let Some(st) = req.app_data::<web::Data<AppState>>().cloned() else { return next.call(req).await };
    let claims = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .and_then(|t| st.keys.verify(t.trim()).ok());
    let user = claims.as_ref().map(|c| c.sub);
    if let Some(c) = claims {
        // The `Auth` extractor reads the token of this request again; it need not verify it twice.
        req.extensions_mut().insert(super::extract::VerifiedToken(c));
    }
    let address = if user.is_none() { super::extract::client_ip(req.request()) } else { None };
    if let Err(wait) = st.limits.check(user, address) {
        st.metrics.rate_limited();
        let secs = wait.as_secs().max(1);
        let err = AppError::Client {
            code: ErrorCode::TooManyRequests,
            detail: Some(crate::error::Msg::new(
                format!("请求过于频繁，请 {secs} 秒后再试"),
                format!("Too many requests; try again in {secs} s"),
            )),
            errors: Vec::new(),
            retry_after: Some(secs),
        };
        let res = err.error_response();
        return Ok(req.into_response(res).map_into_boxed_body());
    }
    next.call(req).await
}
