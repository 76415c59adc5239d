//! Redirect URIs and loopback hosts: when two URIs name the same endpoint, and when a host is this
//! machine. Kept in one place because the document server, the expectation matchers, discovery
//! and the `authorize` action must all agree on what counts as loopback.

/// Whether a host is a loopback IP literal (`127.0.0.1`, `[::1]`, with or without brackets).
/// `localhost` is not: RFC 8252 §7.3 gives the any-port rule to IP literals only.
pub fn is_loopback_ip(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// Whether a host is this machine: `localhost` or a loopback IP literal.
pub fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost") || is_loopback_ip(host)
}

/// A URL whose host is parsed as an IP address (not an opaque host of a private-use scheme) that
/// is loopback.
fn has_loopback_ip(u: &url::Url) -> bool {
    matches!(u.host(), Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)))
        && u.host_str().is_some_and(is_loopback_ip)
}

/// Same scheme, host and path; the port must match too except for loopback IP literals, whose
/// port may vary (RFC 8252 §7.3). Query and fragment are response territory and not compared.
pub fn same_endpoint(a: &str, b: &str) -> bool {
    let (Ok(a), Ok(b)) = (url::Url::parse(a), url::Url::parse(b)) else {
        return false;
    };
    a.scheme() == b.scheme()
        && a.host() == b.host()
        && a.path() == b.path()
        && (a.port_or_known_default() == b.port_or_known_default()
            || (has_loopback_ip(&a) && has_loopback_ip(&b)))
}
