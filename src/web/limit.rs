//! Request rate limits: token buckets per client IP (every endpoint) and per OAuth client
//! (the token, introspection and revocation endpoints), in memory on each node. The
//! defaults sit far above what an app's successful traffic needs; past them the answer is
//! 429 with `Retry-After`. 0 turns a limit off.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::web;
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota};

use super::ProxyTrust;

/// One keyed token bucket: `per_second` sustained, `burst` at once.
#[derive(Clone)]
pub struct Bucket<K: std::hash::Hash + Eq + Clone> {
    limiter: Arc<DefaultKeyedRateLimiter<K>>,
}

impl<K: std::hash::Hash + Eq + Clone> Bucket<K> {
    /// `None` when `per_second` is 0 (off).
    pub fn new(per_second: u32, burst: u32) -> Option<Bucket<K>> {
        let rate = NonZeroU32::new(per_second)?;
        let burst = NonZeroU32::new(burst.max(per_second)).unwrap_or(rate);
        Some(Bucket {
            limiter: Arc::new(DefaultKeyedRateLimiter::keyed(
                Quota::per_second(rate).allow_burst(burst),
            )),
        })
    }

    /// `count` requests per `window` seconds: a burst of `count`, then one more every
    /// `window / count`. `None` when `count` is 0 (off).
    pub fn per_window(count: u32, window: u64) -> Option<Bucket<K>> {
        let burst = NonZeroU32::new(count)?;
        let period = Duration::from_secs(window.max(1)) / count;
        let quota = Quota::with_period(period.max(Duration::from_micros(1)))?.allow_burst(burst);
        Some(Bucket {
            limiter: Arc::new(DefaultKeyedRateLimiter::keyed(quota)),
        })
    }

    /// Takes one token for `key`; `Err(wait)` when the bucket is empty.
    pub fn take(&self, key: &K) -> Result<(), Duration> {
        self.limiter
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(self.limiter.clock().now()))
    }

    /// Forgets keys whose buckets are full again (bounded memory under many IPs).
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

/// Whole seconds to wait, at least 1 (for `Retry-After`).
pub fn retry_after(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

/// The per-IP limit, as app data for `per_ip`.
#[derive(Clone)]
pub struct IpLimit {
    pub bucket: Bucket<IpAddr>,
    pub proxies: ProxyTrust,
}

/// The middleware: one token per request from the client's IP (as `trusted_proxies`
/// decide it). Without `IpLimit` app data (the limit is off) it does nothing.
pub async fn per_ip(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if let Some(limit) = req.app_data::<web::Data<IpLimit>>() {
        let ip = super::client_ip(req.request(), &limit.proxies).parse::<IpAddr>();
        if let Ok(ip) = ip {
            if let Err(wait) = limit.bucket.take(&ip) {
                let seconds = retry_after(wait);
                let mut res = super::clean::refuse(req, StatusCode::TOO_MANY_REQUESTS, || {
                    crate::i18n::t1("error-rate-limited", "seconds", seconds)
                });
                if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&seconds.to_string())
                {
                    res.headers_mut()
                        .insert(actix_web::http::header::RETRY_AFTER, v);
                }
                return Ok(res);
            }
        }
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_asks_to_wait() {
        let bucket = Bucket::<u8>::new(1, 3).unwrap();
        for _ in 0..3 {
            assert!(bucket.take(&1).is_ok());
        }
        let wait = bucket.take(&1).unwrap_err();
        assert!(wait <= Duration::from_secs(1));
        assert_eq!(retry_after(wait), 1);
        assert!(bucket.take(&2).is_ok(), "buckets are per key");
        assert!(Bucket::<u8>::new(0, 10).is_none(), "0 is off");
    }
}
