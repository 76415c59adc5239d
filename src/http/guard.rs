//! Where the tool's requests may go. The server under test chooses most of the URLs the tool
//! follows (metadata endpoints, `jwks_uri`, `authorization_servers`, redirects, login pages), so a
//! hostile or misconfigured deployment could aim the tool at the network it runs in: a cloud
//! metadata service, an admin port on loopback, a database on a private address. The guard lets a
//! request reach a special-use address (loopback, private, link-local, …) only when the user's
//! own URLs (`--rs`, `--as`, the profile's target URLs, `[agent] origins`) resolve to it, or when
//! `--allow-host` names the host. Public addresses are always allowed.
//!
//! The check happens twice and agrees with itself: before a request is sent (IP-literal hosts are
//! judged as they are; names are resolved and judged, the answer kept for a moment) and when
//! reqwest connects (the [`GuardResolver`] hands it exactly the addresses judged, or judges a
//! fresh resolution the same way), so a name cannot resolve to one address for the check and to
//! another for the connection.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use url::{Host, Url};

/// How long a name's judged addresses are reused by the connection that follows the check.
const CACHE_TTL: Duration = Duration::from_secs(30);

/// What kind of special-use address `ip` is ("a loopback address"), or `None` for an ordinary
/// public (globally routable) one. IPv4-mapped IPv6 addresses are the IPv4 address they map;
/// NAT64 (64:ff9b::/96) and 6to4 (2002::/16) addresses are judged by the IPv4 address they embed.
pub fn special_use(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => special_v6(v6),
    }
}

fn special_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        _ if ip.is_unspecified() => "the unspecified address",
        (0, _, _) => "a \"this network\" address (0.0.0.0/8)",
        (10, _, _) => "a private address",
        (172, 16..=31, _) => "a private address",
        (192, 168, _) => "a private address",
        (127, _, _) => "a loopback address",
        (169, 254, 169) if ip.octets()[3] == 254 => {
            "a link-local address (the cloud metadata service)"
        }
        (169, 254, _) => "a link-local address",
        (100, 64..=127, _) => "a shared (carrier-grade NAT) address",
        (192, 0, 0) => "an IETF protocol assignment address",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "a documentation address",
        (192, 88, 99) => "a 6to4 relay anycast address",
        (198, 18..=19, _) => "a benchmarking address",
        (224..=239, _, _) => "a multicast address",
        _ if ip.is_broadcast() => "the broadcast address",
        (240..=255, _, _) => "a reserved address (240.0.0.0/4)",
        _ => return None,
    })
}

fn special_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return special_v4(v4);
    }
    let s = ip.segments();
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from(((hi as u32) << 16) | lo as u32);
    Some(match s {
        _ if ip.is_unspecified() => "the unspecified address",
        _ if ip.is_loopback() => "a loopback address",
        // NAT64's well-known prefix only ever carries global IPv4 addresses (RFC 6052 §3.1).
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => return special_v4(embedded(hi, lo)),
        [0x64, 0xff9b, 1, ..] => "a local-use NAT64 address",
        [0x2002, hi, lo, ..] => return special_v4(embedded(hi, lo)),
        [0x100, 0, 0, 0, ..] => "a discard-only address",
        [0x2001, 0xdb8, ..] => "a documentation address",
        [0x3fff, b, ..] if b < 0x1000 => "a documentation address",
        [0x2001, b, ..] if b < 0x200 => "an IETF protocol assignment address",
        [a, ..] if a & 0xfe00 == 0xfc00 => "a unique-local address",
        [a, ..] if a & 0xffc0 == 0xfe80 => "a link-local address",
        [a, ..] if a & 0xffc0 == 0xfec0 => "a site-local address",
        [a, ..] if a & 0xff00 == 0xff00 => "a multicast address",
        // ::/8 holds the IPv4-compatible and other reserved forms (mapped ones are handled above).
        [a, ..] if a & 0xff00 == 0 => "a reserved address (::/8)",
        _ => return None,
    })
}

/// Whether `host` (a URL's host, as the `url` crate normalised it) is special-use by its text
/// alone: an IP literal in a special-use range, or `localhost` (and its subdomains, RFC 6761).
/// Names are not resolved here; the guard judges them when a request is made.
pub fn special_use_host(host: &Host<&str>) -> Option<&'static str> {
    match host {
        Host::Ipv4(ip) => special_v4(*ip),
        Host::Ipv6(ip) => special_v6(*ip),
        Host::Domain(d) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            (d == "localhost" || d.ends_with(".localhost")).then_some("a loopback name")
        }
    }
}

/// The addresses a host stands for without resolving it: an IP literal's own, `localhost`'s
/// loopback ones; `None` for any other name.
pub fn literal_addrs(host: &Host<&str>) -> Option<Vec<IpAddr>> {
    match host {
        Host::Ipv4(ip) => Some(vec![IpAddr::V4(*ip)]),
        Host::Ipv6(ip) => Some(vec![IpAddr::V6(*ip)]),
        Host::Domain(_) if special_use_host(host).is_some() => Some(vec![
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ]),
        Host::Domain(_) => None,
    }
}

/// A host as `--allow-host` and the comparisons take it: lower case, no brackets, no final dot,
/// IPv4 spellings (`0x7f.1`, `2130706433`) normalised as URLs normalise them.
pub fn normalize_host(raw: &str) -> Result<String, String> {
    let trimmed = raw.trim();
    let bare = trimmed.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(ip.to_canonical().to_string());
    }
    if trimmed.contains([':', '/', '@', '?', '#']) {
        return Err(format!(
            "{raw:?} is not a host name or IP address (give the host alone, without scheme, port or path)"
        ));
    }
    let url = Url::parse(&format!("http://{trimmed}/"))
        .map_err(|e| format!("{raw:?} is not a host name or IP address: {e}"))?;
    let ok = url.port().is_none() && url.path() == "/" && url.username().is_empty();
    match url.host() {
        Some(Host::Domain(d)) if ok => Ok(d.trim_end_matches('.').to_string()),
        Some(Host::Ipv4(ip)) if ok => Ok(ip.to_string()),
        Some(Host::Ipv6(ip)) if ok => Ok(IpAddr::V6(ip).to_canonical().to_string()),
        _ => Err(format!(
            "{raw:?} is not a host name or IP address (give the host alone, without scheme, port or path)"
        )),
    }
}

/// A request the guard did not let out.
#[derive(Clone, Debug, thiserror::Error)]
#[error(
    "{url} resolves to {ip}, {kind} the target does not use; pass --allow-host {host} to allow it"
)]
pub struct Refusal {
    pub url: String,
    pub host: String,
    pub ip: IpAddr,
    pub kind: &'static str,
}

impl Refusal {
    /// The reason without the URL: "resolves to 127.0.0.2, a loopback address …".
    pub fn reason(&self) -> String {
        format!(
            "resolves to {}, {} the target does not use; pass --allow-host {} to allow it",
            self.ip, self.kind, self.host
        )
    }
}

/// The policy and its memory. One per [`super::HttpClient`].
pub struct Guard {
    enabled: bool,
    /// Hosts of the URLs the user gave (and of the proxies in the environment).
    trusted: Vec<String>,
    /// `--allow-host`, normalised.
    allow_hosts: Vec<String>,
    /// The addresses `trusted` and `allow_hosts` resolve to, computed once, on first use.
    allowed: tokio::sync::OnceCell<HashSet<IpAddr>>,
    /// Host → the addresses judged for it, handed to the connection that follows the check.
    judged: Mutex<HashMap<String, (Instant, Vec<SocketAddr>)>>,
}

/// What the guard needs from the settings.
#[derive(Clone, Debug)]
pub struct Egress {
    /// Off only for library callers that talk to a server they started themselves.
    pub guard: bool,
    /// URLs (or bare hosts) the user gave: their addresses may be contacted whatever they are.
    pub trusted: Vec<String>,
    /// `--allow-host` / `[http] allow_hosts`.
    pub allow_hosts: Vec<String>,
}

impl Default for Egress {
    fn default() -> Self {
        Egress {
            guard: true,
            trusted: Vec::new(),
            allow_hosts: Vec::new(),
        }
    }
}

impl Egress {
    /// Adds the user's URLs (or hosts) to the trusted ones.
    pub fn trust<S: AsRef<str>>(&mut self, urls: impl IntoIterator<Item = S>) {
        for u in urls {
            let u = u.as_ref().trim();
            if !u.is_empty() && !self.trusted.iter().any(|t| t == u) {
                self.trusted.push(u.to_string());
            }
        }
    }
}

/// The host of a URL or of a bare `host[:port]`, normalised; `None` when there is none.
fn host_of(text: &str) -> Option<String> {
    let url = Url::parse(text)
        .ok()
        .filter(|u| u.has_host())
        .or_else(|| Url::parse(&format!("http://{text}")).ok())?;
    url.host_str().and_then(|h| normalize_host(h).ok())
}

impl Guard {
    pub fn new(e: &Egress) -> Guard {
        let mut trusted: Vec<String> = e.trusted.iter().filter_map(|t| host_of(t)).collect();
        // The user's proxies are the user's choice too: reqwest connects to them by name.
        for var in [
            "HTTP_PROXY",
            "http_proxy",
            "HTTPS_PROXY",
            "https_proxy",
            "ALL_PROXY",
            "all_proxy",
        ] {
            if let Some(h) = std::env::var(var).ok().as_deref().and_then(host_of) {
                trusted.push(h);
            }
        }
        Guard {
            enabled: e.guard,
            trusted,
            allow_hosts: e
                .allow_hosts
                .iter()
                .filter_map(|h| normalize_host(h).ok())
                .collect(),
            allowed: tokio::sync::OnceCell::new(),
            judged: Mutex::new(HashMap::new()),
        }
    }

    async fn allowed(&self) -> &HashSet<IpAddr> {
        self.allowed
            .get_or_init(|| async {
                let mut set = HashSet::new();
                for host in self.trusted.iter().chain(&self.allow_hosts) {
                    set.extend(resolve(host).await.unwrap_or_default());
                }
                set
            })
            .await
    }

    fn host_allowed(&self, host: &str) -> bool {
        self.allow_hosts.iter().any(|h| h == host)
    }

    /// `None` when `ip` may be contacted for `host`, else what kind of address it is.
    fn refuse(&self, host: &str, ip: IpAddr, allowed: &HashSet<IpAddr>) -> Option<&'static str> {
        let kind = special_use(ip)?;
        let ip = ip.to_canonical();
        (!allowed.contains(&ip) && !self.host_allowed(host)).then_some(kind)
    }

    /// Judges a request's URL before it is sent. Names are resolved here; the addresses judged
    /// are kept for the connection ([`GuardResolver`]). A URL that does not parse, or a name
    /// that does not resolve, is left to reqwest to fail on (or to a proxy to resolve).
    pub async fn check(&self, url: &str) -> Result<(), Refusal> {
        if !self.enabled {
            return Ok(());
        }
        let Some(parsed) = Url::parse(url).ok().filter(|u| u.has_host()) else {
            return Ok(());
        };
        let Some(host) = parsed.host() else {
            return Ok(());
        };
        let Some(host_text) = parsed.host_str().and_then(|h| normalize_host(h).ok()) else {
            return Ok(());
        };
        let port = parsed.port_or_known_default().unwrap_or(0);
        let allowed = self.allowed().await;
        let refusal = |ip: IpAddr, kind| Refusal {
            url: url.to_string(),
            host: host_text.clone(),
            ip,
            kind,
        };
        if let Host::Ipv4(_) | Host::Ipv6(_) = host {
            let ip = literal_addrs(&host).unwrap_or_default()[0];
            return match self.refuse(&host_text, ip, allowed) {
                Some(kind) => Err(refusal(ip, kind)),
                None => Ok(()),
            };
        }
        if self.recently_judged(&host_text).is_some() {
            return Ok(());
        }
        let Ok(addrs) = resolve(&host_text).await else {
            return Ok(());
        };
        let mut first_refused = None;
        let mut ok = Vec::new();
        for ip in addrs {
            match self.refuse(&host_text, ip, allowed) {
                Some(kind) => {
                    first_refused.get_or_insert((ip, kind));
                }
                None => ok.push(SocketAddr::new(ip, port)),
            }
        }
        if ok.is_empty() {
            return match first_refused {
                Some((ip, kind)) => Err(refusal(ip, kind)),
                None => Ok(()),
            };
        }
        if let Ok(mut j) = self.judged.lock() {
            j.retain(|_, (at, _)| at.elapsed() < CACHE_TTL);
            j.insert(host_text, (Instant::now(), ok));
        }
        Ok(())
    }

    /// The addresses judged for `host` within the last [`CACHE_TTL`].
    fn recently_judged(&self, host: &str) -> Option<Vec<SocketAddr>> {
        let j = self.judged.lock().ok()?;
        j.get(host)
            .filter(|(at, _)| at.elapsed() < CACHE_TTL)
            .map(|(_, a)| a.clone())
    }

    /// The addresses reqwest may connect to for `name`: those judged a moment ago, else a fresh
    /// resolution judged the same way.
    async fn connectable(
        &self,
        name: &str,
    ) -> Result<Vec<SocketAddr>, Box<dyn std::error::Error + Send + Sync>> {
        let host = normalize_host(name).unwrap_or_else(|_| name.to_ascii_lowercase());
        if let Some(addrs) = self.recently_judged(&host) {
            return Ok(addrs);
        }
        let addrs = resolve(&host).await?;
        if !self.enabled {
            return Ok(addrs.into_iter().map(|ip| SocketAddr::new(ip, 0)).collect());
        }
        let allowed = self.allowed().await;
        let mut first_refused = None;
        let mut ok = Vec::new();
        for ip in addrs {
            match self.refuse(&host, ip, allowed) {
                Some(kind) => {
                    first_refused.get_or_insert((ip, kind));
                }
                None => ok.push(SocketAddr::new(ip, 0)),
            }
        }
        match (ok.is_empty(), first_refused) {
            (true, Some((ip, kind))) => Err(Box::new(Refusal {
                url: host.clone(),
                host,
                ip,
                kind,
            })),
            _ => Ok(ok),
        }
    }
}

/// A host's addresses: IP literals and `localhost` as they are, other names through the system
/// resolver.
async fn resolve(host: &str) -> std::io::Result<Vec<IpAddr>> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(vec![ip.to_canonical()]);
    }
    if let Some(addrs) = literal_addrs(&Host::Domain(bare)) {
        return Ok(addrs);
    }
    let found = tokio::net::lookup_host((bare, 0)).await?;
    let mut out: Vec<IpAddr> = Vec::new();
    for a in found {
        let ip = a.ip().to_canonical();
        if !out.contains(&ip) {
            out.push(ip);
        }
    }
    Ok(out)
}

/// reqwest's resolver: the guard's judgement at connection time.
pub struct GuardResolver(pub Arc<Guard>);

impl reqwest::dns::Resolve for GuardResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let guard = self.0.clone();
        let name = name.as_str().to_string();
        Box::pin(async move {
            let addrs = guard.connectable(&name).await?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The refusal somewhere in an error's chain (reqwest wraps the resolver's error).
pub fn refusal_in<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a Refusal> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<Refusal>() {
            return Some(r);
        }
        cur = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host_kind(url: &str) -> Option<&'static str> {
        let u = Url::parse(url).unwrap();
        special_use_host(&u.host().unwrap())
    }

    fn v4(s: &str) -> Option<&'static str> {
        special_use(s.parse().unwrap())
    }

    #[test]
    fn ipv4_special_use_ranges() {
        let cases = [
            ("0.0.0.0", "the unspecified address"),
            ("0.1.2.3", "a \"this network\" address (0.0.0.0/8)"),
            ("10.0.0.1", "a private address"),
            ("10.255.255.255", "a private address"),
            ("172.16.0.1", "a private address"),
            ("172.31.255.254", "a private address"),
            ("192.168.1.1", "a private address"),
            ("127.0.0.1", "a loopback address"),
            ("127.0.0.2", "a loopback address"),
            ("127.255.255.254", "a loopback address"),
            ("169.254.1.1", "a link-local address"),
            (
                "169.254.169.254",
                "a link-local address (the cloud metadata service)",
            ),
            ("100.64.0.1", "a shared (carrier-grade NAT) address"),
            ("100.127.255.255", "a shared (carrier-grade NAT) address"),
            ("192.0.0.8", "an IETF protocol assignment address"),
            ("192.0.2.1", "a documentation address"),
            ("198.51.100.7", "a documentation address"),
            ("203.0.113.9", "a documentation address"),
            ("192.88.99.1", "a 6to4 relay anycast address"),
            ("198.18.0.1", "a benchmarking address"),
            ("198.19.255.255", "a benchmarking address"),
            ("224.0.0.1", "a multicast address"),
            ("239.255.255.250", "a multicast address"),
            ("240.0.0.1", "a reserved address (240.0.0.0/4)"),
            ("255.255.255.255", "the broadcast address"),
        ];
        for (ip, kind) in cases {
            assert_eq!(v4(ip), Some(kind), "{ip}");
        }
        for public in [
            "8.8.8.8",
            "1.1.1.1",
            "172.15.255.255",
            "172.32.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "192.167.1.1",
            "169.253.1.1",
            "198.17.0.1",
            "198.20.0.1",
            "223.255.255.255",
            "192.0.1.1",
        ] {
            assert_eq!(v4(public), None, "{public}");
        }
    }

    #[test]
    fn ipv6_special_use_ranges() {
        let cases = [
            ("::", "the unspecified address"),
            ("::1", "a loopback address"),
            ("fc00::1", "a unique-local address"),
            ("fd12:3456::1", "a unique-local address"),
            ("fe80::1", "a link-local address"),
            ("febf::1", "a link-local address"),
            ("fec0::1", "a site-local address"),
            ("ff02::1", "a multicast address"),
            ("2001:db8::1", "a documentation address"),
            ("3fff::1", "a documentation address"),
            ("100::1", "a discard-only address"),
            ("2001::1", "an IETF protocol assignment address"),
            ("64:ff9b:1::1", "a local-use NAT64 address"),
            ("::127.0.0.1", "a reserved address (::/8)"),
            // IPv4-mapped: the IPv4 address decides.
            ("::ffff:127.0.0.1", "a loopback address"),
            ("::ffff:10.1.2.3", "a private address"),
            (
                "::ffff:169.254.169.254",
                "a link-local address (the cloud metadata service)",
            ),
            // NAT64 and 6to4 embed an IPv4 address.
            ("64:ff9b::a00:1", "a private address"),
            ("64:ff9b::7f00:1", "a loopback address"),
            ("2002:c0a8:101::1", "a private address"),
        ];
        for (ip, kind) in cases {
            assert_eq!(special_use(ip.parse().unwrap()), Some(kind), "{ip}");
        }
        for public in [
            "2606:4700:4700::1111",
            "2a00:1450:4001::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
            "2001:4860:4860::8888",
        ] {
            assert_eq!(special_use(public.parse().unwrap()), None, "{public}");
        }
    }

    /// The `url` crate normalises every IPv4 spelling a browser (or reqwest) would accept, so
    /// the guard sees the address a connection would reach.
    #[test]
    fn ipv4_spellings_normalise_through_url() {
        for (url, host) in [
            ("http://2130706433/", "127.0.0.1"),
            ("http://0177.0.0.1/", "127.0.0.1"),
            ("http://0x7f.1/", "127.0.0.1"),
            ("http://0x7f000001/", "127.0.0.1"),
            ("http://127.1/", "127.0.0.1"),
            ("http://0xa9.0xfe.0xa9.0xfe/", "169.254.169.254"),
            ("http://2852039166/", "169.254.169.254"),
            ("http://012.0.0.1/", "10.0.0.1"),
            ("http://[::ffff:127.0.0.1]/", "[::ffff:7f00:1]"),
            ("http://[0:0:0:0:0:0:0:1]/", "[::1]"),
        ] {
            let u = Url::parse(url).unwrap();
            assert_eq!(u.host_str(), Some(host), "{url}");
            assert!(special_use_host(&u.host().unwrap()).is_some(), "{url}");
        }
        assert_eq!(host_kind("http://localhost:8080/"), Some("a loopback name"));
        assert_eq!(host_kind("http://LOCALHOST./x"), Some("a loopback name"));
        assert_eq!(host_kind("http://a.localhost/"), Some("a loopback name"));
        assert_eq!(host_kind("http://localhost.example.com/"), None);
        assert_eq!(host_kind("https://as.example.com/"), None);
        assert_eq!(host_kind("https://8.8.8.8/"), None);
    }

    #[test]
    fn allow_host_values_normalise() {
        assert_eq!(normalize_host("127.0.0.2").unwrap(), "127.0.0.2");
        assert_eq!(normalize_host("0x7f.2").unwrap(), "127.0.0.2");
        assert_eq!(normalize_host("[::1]").unwrap(), "::1");
        assert_eq!(normalize_host("::ffff:127.0.0.1").unwrap(), "127.0.0.1");
        assert_eq!(
            normalize_host("Internal.Example.").unwrap(),
            "internal.example"
        );
        assert!(normalize_host("http://x/").is_err());
        assert!(normalize_host("x:80").is_err());
        assert!(normalize_host("x/y").is_err());
    }

    fn guard(trusted: &[&str], allow: &[&str]) -> Guard {
        let mut e = Egress::default();
        e.trust(trusted);
        e.allow_hosts = allow.iter().map(|s| s.to_string()).collect();
        Guard::new(&e)
    }

    /// IP literals are judged without resolving or connecting anywhere.
    #[tokio::test]
    async fn literals_are_judged_against_the_targets_addresses() {
        let g = guard(&["http://127.0.0.1:4000/mcp"], &[]);
        assert!(g.check("http://127.0.0.1:9/x").await.is_ok());
        assert!(g.check("http://[::ffff:127.0.0.1]:9/x").await.is_ok());
        assert!(g.check("https://8.8.8.8/x").await.is_ok());
        let r = g.check("http://127.0.0.2:4000/jwks").await.unwrap_err();
        assert_eq!(
            r.to_string(),
            "http://127.0.0.2:4000/jwks resolves to 127.0.0.2, a loopback address the target does not use; pass --allow-host 127.0.0.2 to allow it"
        );
        for url in [
            "http://169.254.169.254/latest/meta-data/",
            "http://2852039166/",
            "http://0x7f.2/",
            "http://[::1]/",
            "http://[fd00::1]/",
            "http://10.0.0.1/",
            "http://0.0.0.0:4000/",
        ] {
            assert!(g.check(url).await.is_err(), "{url}");
        }
        let g = guard(&["http://127.0.0.1:4000/mcp"], &["127.0.0.2", "[fd00::1]"]);
        assert!(g.check("http://127.0.0.2:4000/jwks").await.is_ok());
        assert!(g.check("http://[fd00::1]/").await.is_ok());
        assert!(g.check("http://127.0.0.3/").await.is_err());
        let off = Guard::new(&Egress {
            guard: false,
            ..Egress::default()
        });
        assert!(off.check("http://169.254.169.254/").await.is_ok());
    }

    #[tokio::test]
    async fn localhost_is_judged_by_its_loopback_addresses() {
        // A target on another loopback address, so that nothing here needs a name server.
        let g = guard(&["http://127.0.0.3:4000/mcp"], &[]);
        let r = g.check("http://localhost:8080/admin").await.unwrap_err();
        assert_eq!(r.kind, "a loopback address");
        assert!(r.to_string().contains("--allow-host localhost"), "{r}");
        let g = guard(&["http://localhost:3000/mcp"], &[]);
        assert!(g.check("http://127.0.0.1:3000/token").await.is_ok());
        assert!(g.check("http://[::1]:3000/token").await.is_ok());
        assert!(g.check("http://localhost:3000/token").await.is_ok());
    }

    /// At connection time the resolver judges a name the same way (a check's answer may have
    /// expired, or a proxy's name is being resolved).
    #[tokio::test]
    async fn the_resolver_refuses_what_the_check_would() {
        use reqwest::dns::Resolve;
        let g = Arc::new(guard(&["http://127.0.0.3:1/"], &[]));
        let err = match GuardResolver(g).resolve("localhost".parse().unwrap()).await {
            Ok(_) => panic!("localhost resolved for a 127.0.0.3 target"),
            Err(e) => e,
        };
        let r = refusal_in(err.as_ref()).expect("a refusal");
        assert_eq!(r.kind, "a loopback address");
        let g = Arc::new(guard(&["http://localhost:1/"], &[]));
        let addrs: Vec<SocketAddr> = GuardResolver(g)
            .resolve("localhost".parse().unwrap())
            .await
            .unwrap()
            .collect();
        assert!(addrs.iter().any(|a| a.ip().is_loopback()), "{addrs:?}");
    }

    #[test]
    fn refusals_are_found_in_error_chains() {
        #[derive(Debug)]
        struct Outer(Refusal);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("connect failed")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let r = Refusal {
            url: "x".into(),
            host: "x".into(),
            ip: "10.0.0.1".parse().unwrap(),
            kind: "a private address",
        };
        let outer = Outer(r);
        assert_eq!(refusal_in(&outer).unwrap().kind, "a private address");
    }
}
