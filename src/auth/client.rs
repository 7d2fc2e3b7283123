//! Who is asking: the client's address, taken from a proxy's `X-Forwarded-For` only when the
//! peer is a proxy the operator named (`TRUSTED_PROXIES`); anyone else could write that header.

use std::net::IpAddr;

use actix_web::HttpRequest;

/// A list of addresses and CIDR blocks: the proxies whose `X-Forwarded-For` is believed, or the
/// clients that may read the metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Networks(Vec<(IpAddr, u8)>);

impl Networks {
    /// Parses a comma-separated list such as `127.0.0.1, 10.0.0.0/8, ::1`.
    pub fn parse(list: &str) -> Result<Networks, String> {
        let mut networks = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (addr, bits) = item.split_once('/').unwrap_or((item, ""));
            let addr: IpAddr = addr.parse().map_err(|_| format!("{item:?} is not an address or network"))?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let bits = if bits.is_empty() { max } else { bits.parse().map_err(|_| format!("{item:?}: bad prefix"))? };
            if bits > max {
                return Err(format!("{item:?}: the prefix is longer than the address"));
            }
            networks.push((addr, bits));
        }
        Ok(Networks(networks))
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        // An IPv4 peer of a server listening on [::] arrives as ::ffff:a.b.c.d.
        let ip = ip.to_canonical();
        self.0.iter().any(|&(network, bits)| same_network(network, ip, bits))
    }
}

fn same_network(a: IpAddr, b: IpAddr, bits: u8) -> bool {
    let (a, b, width) = match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u128::from(a.to_bits()), u128::from(b.to_bits()), 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (a.to_bits(), b.to_bits(), 128),
        _ => return false,
    };
    let shift = width - u32::from(bits);
    shift >= width || (a >> shift) == (b >> shift)
}

/// The client's address: the peer's, or, when the peer is a trusted proxy, the last address in
/// `X-Forwarded-For` that is not itself a trusted proxy.
pub fn address(peer: Option<IpAddr>, forwarded_for: Option<&str>, trusted: &Networks) -> Option<IpAddr> {
    let peer = peer?;
    if !trusted.contains(peer) {
        return Some(peer);
    }
    let hops = forwarded_for.unwrap_or("").split(',').rev().map(str::trim);
    for hop in hops {
        match hop.parse::<IpAddr>().map(|ip| ip.to_canonical()) {
            Ok(ip) if trusted.contains(ip) => continue,
            Ok(ip) => return Some(ip),
            Err(_) => break,
        }
    }
    Some(peer)
}

/// The client address of a request, under the process's trusted proxies.
pub fn of_request(req: &HttpRequest) -> Option<IpAddr> {
    let trusted = req
        .app_data::<actix_web::web::Data<crate::state::AppState>>()
        .map(|s| s.config.trusted_proxies.clone())
        .unwrap_or_default();
    let forwarded = forwarded_for(req);
    address(req.peer_addr().map(|a| a.ip()), Some(forwarded.as_str()).filter(|f| !f.is_empty()), &trusted)
}

/// Every line of `X-Forwarded-For`, in order, as one list: a proxy may add a line of its own
/// after the one the client wrote.
fn forwarded_for(req: &HttpRequest) -> String {
    req.headers().get_all("x-forwarded-for").filter_map(|v| v.to_str().ok()).collect::<Vec<_>>().join(",")
}

/// The key a client address is counted under: an IPv4 address, or an IPv6 address's /64 (one
/// machine easily holds a whole /64).
pub fn source_key(ip: Option<IpAddr>) -> String {
    match ip {
        Some(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Some(IpAddr::V6(v6)) => v6.to_ipv4_mapped().map_or_else(String::new, |v4| v4.to_string()),
        Some(ip) => ip.to_string(),
        None => "unknown".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_forwarded_address_is_believed_only_from_a_trusted_proxy() {
        let trusted = Networks::parse("10.0.0.0/8, ::1").unwrap();
        let header = Some("203.0.113.9, 10.1.2.3");
        assert_eq!(address(Some(ip("10.0.0.5")), header, &trusted), Some(ip("203.0.113.9")));
        assert_eq!(address(Some(ip("198.51.100.1")), header, &trusted), Some(ip("198.51.100.1")));
        assert_eq!(address(Some(ip("::1")), Some("2001:db8::1"), &trusted), Some(ip("2001:db8::1")));
        // A client behind the proxy that writes its own header gets only the hop the proxy added.
        let spoofed = Some("1.2.3.4, 203.0.113.9");
        assert_eq!(address(Some(ip("10.0.0.5")), spoofed, &trusted), Some(ip("203.0.113.9")));
        assert_eq!(address(Some(ip("10.0.0.5")), Some("junk"), &trusted), Some(ip("10.0.0.5")));
        assert_eq!(address(Some(ip("10.0.0.5")), None, &trusted), Some(ip("10.0.0.5")));
    }

    #[test]
    fn every_line_of_the_header_counts_the_proxys_last() {
        let req = actix_web::test::TestRequest::default()
            .append_header(("x-forwarded-for", "1.2.3.4"))
            .append_header(("x-forwarded-for", "203.0.113.9"))
            .to_http_request();
        let trusted = Networks::parse("10.0.0.0/8").unwrap();
        let forwarded = forwarded_for(&req);
        assert_eq!(address(Some(ip("10.0.0.5")), Some(&forwarded), &trusted), Some(ip("203.0.113.9")));
    }

    #[test]
    fn a_list_of_proxies_is_parsed_or_refused() {
        assert!(Networks::parse("").unwrap().0.is_empty());
        assert!(Networks::parse("10.0.0.0/33").is_err());
        assert!(Networks::parse("proxy.example").is_err());
        assert!(Networks::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(Networks::parse("10.0.0.0/8").unwrap().contains(ip("::ffff:10.1.2.3")));
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_network() {
        assert_eq!(source_key(Some(ip("2001:db8:1:2:3:4:5:6"))), "2001:db8:1:2::/64");
        assert_eq!(source_key(Some(ip("::ffff:192.0.2.1"))), "192.0.2.1");
        assert_eq!(source_key(Some(ip("192.0.2.1"))), "192.0.2.1");
    }
}
