//! The HTTP toolkit every page and API module shares, and nothing domain-specific: page
//! rendering, the error page, CSRF, security headers, CORS, redirects, request parameters,
//! bearer tokens and where a request came from. A leaf: it imports no other module of
//! Porta's but `db` and `crypto`.

pub mod bearer;
pub mod clean;
pub mod csrf;
pub mod error;
pub mod limit;
pub mod params;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

pub use error::PageError;
pub use params::Params;

/// The security headers every response carries (unless a handler set its own), with
/// `Strict-Transport-Security` when `hsts_max_age` is given.
pub fn security_headers(hsts_max_age: Option<i64>) -> actix_web::middleware::DefaultHeaders {
    let headers = actix_web::middleware::DefaultHeaders::new();
    let headers = match hsts_max_age {
        Some(age) if age > 0 => {
            headers.add((header::STRICT_TRANSPORT_SECURITY, format!("max-age={age}")))
        }
        _ => headers,
    };
    headers
        .add((
            header::CONTENT_SECURITY_POLICY,
            // No scripts needed; no framing (clickjacking on sign-in and consent).
            "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; \
             img-src 'self' data:; frame-ancestors 'none'",
        ))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
}

/// Marks a request whose `Origin` the handler checked and allowed (for a client's own
/// endpoints: the client's web origins). `client_cors` then answers with it.
#[derive(Debug, Clone)]
pub struct CorsAllowed(pub String);

/// The browser origin a request came from, if it says.
pub fn request_origin(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
}

/// CORS for the endpoints a client calls for itself (token, introspection, revocation,
/// userinfo). Preflights are answered for any origin (a preflight carries no client, and
/// reveals nothing); an actual answer carries `Access-Control-Allow-Origin` only when the
/// handler found the origin registered for the client (`CorsAllowed` in the request's
/// extensions), so a page elsewhere cannot read it.
pub async fn client_cors(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let origin = request_origin(req.request()).map(str::to_string);
    let preflight = req.method() == actix_web::http::Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if let (true, Some(origin)) = (preflight, &origin) {
        let resp = HttpResponse::NoContent()
            .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.as_str()))
            .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST"))
            .insert_header((
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                "authorization, content-type",
            ))
            .insert_header((header::ACCESS_CONTROL_MAX_AGE, "3600"))
            .insert_header((header::VARY, "Origin"))
            .finish();
        return Ok(req.into_response(resp));
    }
    let mut res = next.call(req).await?.map_into_boxed_body();
    let allowed = actix_web::HttpMessage::extensions(res.request())
        .get::<CorsAllowed>()
        .cloned();
    if let Some(CorsAllowed(origin)) = allowed {
        if let Ok(v) = header::HeaderValue::from_str(&origin) {
            res.headers_mut()
                .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        }
    }
    if origin.is_some() {
        res.headers_mut()
            .insert(header::VARY, header::HeaderValue::from_static("Origin"));
    }
    Ok(res)
}

/// CORS for endpoints browser apps call directly (no cookies: any origin, no credentials).
pub fn cors() -> actix_cors::Cors {
    actix_cors::Cors::default()
        .allow_any_origin()
        .allowed_methods(["GET", "POST"])
        .allowed_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(3600)
}

/// Renders an askama page with `status`; pages are never cached (they carry CSRF tokens
/// and personal data).
pub fn render<T: Template>(status: actix_web::http::StatusCode, page: &T) -> HttpResponse {
    match page.render() {
        Ok(body) => HttpResponse::build(status)
            .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(body),
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            HttpResponse::InternalServerError()
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .body("Internal error")
        }
    }
}

/// A 303 redirect to `location` (after a form POST the browser must switch to GET).
pub fn see_other(location: &str) -> HttpResponse {
    redirect(actix_web::http::StatusCode::SEE_OTHER, location)
}

/// A 302 redirect to `location`, never cached.
pub fn found(location: &str) -> HttpResponse {
    redirect(actix_web::http::StatusCode::FOUND, location)
}

fn redirect(status: actix_web::http::StatusCode, location: &str) -> HttpResponse {
    let mut resp = HttpResponse::build(status);
    resp.insert_header((header::CACHE_CONTROL, "no-store"));
    match HeaderValue::from_str(location) {
        Ok(v) => resp.insert_header((header::LOCATION, v)).finish(),
        Err(_) => HttpResponse::BadRequest().body("invalid redirect"),
    }
}

/// True when the request body is a form: its media type (parameters aside) is
/// `application/x-www-form-urlencoded`, in any letter case.
pub fn is_form(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// Which proxies' `X-Forwarded-For` hops to believe.
#[derive(Debug, Clone, Default)]
pub enum ProxyTrust {
    /// None: the peer is the client (the default; anyone could write the header).
    #[default]
    Off,
    /// The peer is a proxy (`trust_proxy_headers` without `trusted_proxies`): the hop it
    /// appended, the rightmost, is the client. Never the leftmost, which the client wrote.
    Peer,
    /// Proxies at these networks: walking from the peer leftwards through the header,
    /// the first hop not in them is the client.
    Networks(std::sync::Arc<Vec<ipnet::IpNet>>),
}

impl ProxyTrust {
    /// From the settings; `networks` is a comma- or space-separated list of addresses
    /// and CIDR networks.
    pub fn new(trust_proxy_headers: bool, networks: &str) -> Result<ProxyTrust, String> {
        let nets = parse_networks(networks)?;
        Ok(match (nets.is_empty(), trust_proxy_headers) {
            (false, _) => ProxyTrust::Networks(std::sync::Arc::new(nets)),
            (true, true) => ProxyTrust::Peer,
            (true, false) => ProxyTrust::Off,
        })
    }

    fn trusts(&self, ip: std::net::IpAddr) -> bool {
        match self {
            ProxyTrust::Off => false,
            ProxyTrust::Peer => true,
            ProxyTrust::Networks(nets) => nets.iter().any(|n| n.contains(&ip)),
        }
    }
}

/// Parses `trusted_proxies`: addresses (a /32 or /128) and CIDR networks.
pub fn parse_networks(text: &str) -> Result<Vec<ipnet::IpNet>, String> {
    text.split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| format!("{s:?} is not an IP address or CIDR network"))
        })
        .collect()
}

/// One `X-Forwarded-For` hop as an address ("1.2.3.4", "1.2.3.4:5678", "[::1]:5678").
fn hop_ip(hop: &str) -> Option<std::net::IpAddr> {
    let hop = hop.trim();
    hop.parse::<std::net::SocketAddr>()
        .map(|s| s.ip())
        .or_else(|_| hop.trim_matches(['[', ']']).parse::<std::net::IpAddr>())
        .ok()
}

/// The client's IP. Without trusted proxies, the peer's. With them, walk the chain from
/// the right: the peer, then each `X-Forwarded-For` hop leftwards, and the first address
/// that is not a trusted proxy is the client (a client can prepend anything, but cannot
/// change what the proxies appended after it). `Forwarded` is not read.
pub fn client_ip(req: &HttpRequest, trust: &ProxyTrust) -> String {
    let Some(peer) = req.peer_addr().map(|a| a.ip()) else {
        return String::new();
    };
    if !trust.trusts(peer) {
        return peer.to_string();
    }
    let hops: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Some(ip) = hop_ip(hop) else {
            // A hop that is not an address: nothing left of it can be believed.
            break;
        };
        client = ip;
        if matches!(trust, ProxyTrust::Peer) || !trust.trusts(ip) {
            break;
        }
    }
    client.to_string()
}

/// The user agent, at most 300 characters.
pub fn user_agent(req: &HttpRequest) -> String {
    req.headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .chars()
        .take(300)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn ip(peer: &str, xff: Option<&str>, trust: &ProxyTrust) -> String {
        let mut req = TestRequest::default().peer_addr(format!("{peer}:40000").parse().unwrap());
        if let Some(x) = xff {
            req = req.insert_header(("x-forwarded-for", x));
        }
        client_ip(&req.to_http_request(), trust)
    }

    #[test]
    fn without_trust_the_peer_is_the_client() {
        let off = ProxyTrust::new(false, "").unwrap();
        assert_eq!(ip("10.0.0.1", Some("1.2.3.4"), &off), "10.0.0.1");
    }

    #[test]
    fn a_trusted_peer_gives_the_hop_it_appended_not_what_the_client_wrote() {
        let peer = ProxyTrust::new(true, "").unwrap();
        // The client sent "X-Forwarded-For: 6.6.6.6"; nginx appended the real address.
        assert_eq!(
            ip("10.0.0.1", Some("6.6.6.6, 203.0.113.7"), &peer),
            "203.0.113.7"
        );
        assert_eq!(ip("10.0.0.1", None, &peer), "10.0.0.1");
    }

    #[test]
    fn trusted_networks_walk_from_the_right_to_the_first_untrusted_hop() {
        let nets = ProxyTrust::new(false, "10.0.0.0/8, 192.168.1.5").unwrap();
        assert_eq!(
            ip("10.0.0.1", Some("6.6.6.6, 203.0.113.7, 192.168.1.5"), &nets),
            "203.0.113.7"
        );
        // A peer outside the networks is the client, whatever it claims.
        assert_eq!(ip("198.51.100.9", Some("1.2.3.4"), &nets), "198.51.100.9");
        // Garbage stops the walk at the last believable address.
        assert_eq!(
            ip("10.0.0.1", Some("not-an-ip, 10.0.0.2"), &nets),
            "10.0.0.2"
        );
        assert_eq!(
            ip("10.0.0.1", Some("[2001:db8::1]:443"), &nets),
            "2001:db8::1"
        );
    }

    #[test]
    fn bad_networks_are_refused() {
        assert!(ProxyTrust::new(false, "10.0.0.0/33").is_err());
        assert!(ProxyTrust::new(false, "proxy.example").is_err());
    }
}
