//! The client's address, for the rate limits. Behind a reverse proxy every
//! request comes from the proxy; only when the peer is one of
//! `NAERVAER_TRUSTED_PROXIES` is the forwarding header believed, and then
//! the client is the last address in it that is not itself a trusted proxy
//! (anything left of that was written by the client and proves nothing).
//! From any other peer the headers are ignored: a client cannot name itself.

use actix_web::HttpRequest;
use ipnet::IpNet;
use std::net::IpAddr;

pub fn client_addr(req: &HttpRequest, trusted: &[IpNet]) -> IpAddr {
    let peer = req
        .peer_addr()
        .map(|a| a.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let chain = forwarded_chain(req);
    // Rightmost first: each hop appends the address it received from.
    chain
        .iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .or(chain.first())
        .copied()
        .unwrap_or(peer)
}

/// The addresses of `Forwarded: for=…` (RFC 7239), or else of
/// `X-Forwarded-For`, in order, across repeated headers. An entry that is
/// not an address (`unknown`, an obfuscated name) ends the chain there, so
/// nothing left of it is believed.
fn forwarded_chain(req: &HttpRequest) -> Vec<IpAddr> {
    let headers = req.headers();
    let forwarded: Vec<&str> = headers
        .get_all("forwarded")
        .filter_map(|v| v.to_str().ok())
        .collect();
    let entries: Vec<String> = if !forwarded.is_empty() {
        forwarded
            .iter()
            .flat_map(|v| v.split(','))
            .map(|element| {
                element
                    .split(';')
                    .find_map(|pair| {
                        let (k, v) = pair.split_once('=')?;
                        k.trim()
                            .eq_ignore_ascii_case("for")
                            .then(|| v.trim().to_string())
                    })
                    .unwrap_or_default()
            })
            .collect()
    } else {
        headers
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|s| s.trim().to_string())
            .collect()
    };
    let parsed: Vec<Option<IpAddr>> = entries.iter().map(|e| parse_node(e)).collect();
    // Keep only the unbroken run of addresses at the right end.
    let start = parsed
        .iter()
        .rposition(Option::is_none)
        .map_or(0, |i| i + 1);
    parsed[start..].iter().flatten().copied().collect()
}

/// `192.0.2.60`, `"192.0.2.60:4711"`, `"[2001:db8::1]:4711"`, `2001:db8::1`.
fn parse_node(s: &str) -> Option<IpAddr> {
    let s = s.trim().trim_matches('"');
    if let Ok(ip) = s.parse() {
        return Some(ip);
    }
    if let Some(rest) = s.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    let (host, port) = s.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn nets(s: &[&str]) -> Vec<IpNet> {
        s.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn req(peer: &str, headers: &[(&str, &str)]) -> HttpRequest {
        let mut r = TestRequest::default().peer_addr(format!("{peer}:5000").parse().unwrap());
        for (k, v) in headers {
            r = r.append_header((*k, *v));
        }
        r.to_http_request()
    }

    #[test]
    fn a_header_from_an_untrusted_peer_is_ignored() {
        let r = req("203.0.113.9", &[("x-forwarded-for", "10.1.2.3")]);
        assert_eq!(
            client_addr(&r, &[]),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            client_addr(&r, &nets(&["10.0.0.0/8"])),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_address_is_the_client() {
        let trusted = nets(&["10.0.0.0/8"]);
        // The client forged the first entry; the proxy appended the real one.
        let r = req(
            "10.0.0.2",
            &[("x-forwarded-for", "1.2.3.4, 198.51.100.7, 10.0.0.9")],
        );
        assert_eq!(
            client_addr(&r, &trusted),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        let r = req(
            "10.0.0.2",
            &[(
                "forwarded",
                "for=1.2.3.4, for=\"[2001:db8::7]:4711\";proto=https",
            )],
        );
        assert_eq!(
            client_addr(&r, &trusted),
            "2001:db8::7".parse::<IpAddr>().unwrap()
        );
        // Repeated headers are one list.
        let r = req(
            "10.0.0.2",
            &[
                ("x-forwarded-for", "1.2.3.4"),
                ("x-forwarded-for", "198.51.100.8:443"),
            ],
        );
        assert_eq!(
            client_addr(&r, &trusted),
            "198.51.100.8".parse::<IpAddr>().unwrap()
        );
        // No header: the proxy itself.
        let r = req("10.0.0.2", &[]);
        assert_eq!(
            client_addr(&r, &trusted),
            "10.0.0.2".parse::<IpAddr>().unwrap()
        );
        // Garbage right of the addresses: nothing is believed but the peer.
        let r = req("10.0.0.2", &[("x-forwarded-for", "1.2.3.4, unknown")]);
        assert_eq!(
            client_addr(&r, &trusted),
            "10.0.0.2".parse::<IpAddr>().unwrap()
        );
    }
}
