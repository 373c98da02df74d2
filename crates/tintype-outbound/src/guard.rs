//! Which addresses outbound requests may reach. Everything public is allowed; loopback, private,
//! shared (CGNAT), link-local (which holds the cloud metadata endpoint), multicast, unspecified and
//! reserved ranges are refused, in IPv4 and IPv6, including IPv4 addresses embedded in IPv6
//! (v4-mapped, v4-compatible, NAT64, 6to4). The operator may exempt CIDRs or host names.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use crate::OutboundError;

/// Hosts and networks exempted from the guard.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowlist {
    nets: Vec<IpNet>,
    hosts: Vec<String>,
}

impl Allowlist {
    /// Parses `TINTYPE_OUTBOUND_ALLOW`: comma-separated CIDRs, single addresses or host names
    /// (`*.example.com` covers subdomains).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut list = Self::default();
        for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let bare = entry.trim_start_matches('[').trim_end_matches(']');
            if let Ok(net) = bare.parse::<IpNet>() {
                list.nets.push(net);
            } else if let Ok(ip) = bare.parse::<IpAddr>() {
                list.nets.push(IpNet::from(ip));
            } else if is_host_name(entry) {
                list.hosts.push(entry.to_ascii_lowercase());
            } else {
                return Err(format!(
                    "`{entry}` is neither a CIDR, an address nor a host name"
                ));
            }
        }
        Ok(list)
    }

    /// Whether nothing is exempted.
    pub fn is_empty(&self) -> bool {
        self.nets.is_empty() && self.hosts.is_empty()
    }

    fn allows_host(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.hosts.iter().any(|h| match h.strip_prefix("*.") {
            Some(suffix) => host.ends_with(&format!(".{suffix}")),
            None => *h == host,
        })
    }

    fn allows_addr(&self, addr: IpAddr) -> bool {
        let canonical = canonical(addr);
        self.nets
            .iter()
            .any(|net| net.contains(&addr) || net.contains(&canonical))
    }
}

fn is_host_name(s: &str) -> bool {
    let s = s.strip_prefix("*.").unwrap_or(s);
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// The policy: refused ranges minus the allowlist.
#[derive(Debug, Clone, Default)]
pub struct Guard {
    allow: Allowlist,
}

impl Guard {
    /// A guard exempting `allow`.
    pub fn new(allow: Allowlist) -> Self {
        Self { allow }
    }

    /// Checks one resolved address of `host`.
    pub fn check(&self, host: &str, addr: IpAddr) -> Result<(), OutboundError> {
        if self.allow.allows_host(host) || self.allow.allows_addr(addr) {
            return Ok(());
        }
        match refusal(addr) {
            Some(reason) => Err(OutboundError::Refused {
                host: host.to_owned(),
                addr,
                reason,
            }),
            None => Ok(()),
        }
    }

    /// Whether the host name itself is exempted (then any address it resolves to is fine).
    pub fn allows_host(&self, host: &str) -> bool {
        self.allow.allows_host(host)
    }
}

/// The address a packet would really go to: IPv4 embedded in IPv6 is unwrapped.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => embedded_v4(v6).map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let tail = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, deprecated but still routed by some stacks)
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(tail),
        [0, 0, 0, 0, 0, 0, _, _] if s[6] != 0 => Some(tail),
        // NAT64 well-known prefix 64:ff9b::/96
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(tail),
        // 6to4 2002:AABB:CCDD::/48
        [0x2002, hi, lo, ..] => Some(Ipv4Addr::new(
            (hi >> 8) as u8,
            hi as u8,
            (lo >> 8) as u8,
            lo as u8,
        )),
        _ => None,
    }
}

/// Why an address is refused, or `None` when it is public.
pub fn refusal(addr: IpAddr) -> Option<&'static str> {
    match canonical(addr) {
        IpAddr::V4(v4) => refusal_v4(v4),
        IpAddr::V6(v6) => refusal_v6(v6),
    }
}

fn refusal_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    if ip == Ipv4Addr::new(169, 254, 169, 254) || ip == Ipv4Addr::new(100, 100, 100, 200) {
        // AWS/GCP/Azure/OpenStack and Alibaba instance metadata.
        return Some("cloud metadata");
    }
    if ip.is_unspecified() || o[0] == 0 {
        Some("unspecified")
    } else if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
        Some("shared (carrier-grade NAT)")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if ip.is_broadcast() || o[0] >= 240 {
        Some("reserved")
    } else if (o[0] == 192 && o[1] == 0 && o[2] == 0) || (o[0] == 198 && (o[1] & 0xfe) == 18) {
        // IETF protocol assignments and the benchmarking range: never a legitimate web server.
        Some("reserved")
    } else if ip.is_documentation() {
        Some("documentation")
    } else {
        None
    }
}

fn refusal_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    if ip.is_unspecified() {
        Some("unspecified")
    } else if ip.is_loopback() {
        Some("loopback")
    } else if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
        Some("cloud metadata")
    } else if (s[0] & 0xfe00) == 0xfc00 {
        Some("private")
    } else if (s[0] & 0xffc0) == 0xfe80 || (s[0] & 0xffc0) == 0xfec0 {
        Some("link-local")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if s[0] == 0x2001 && s[1] == 0 {
        // Teredo hides an obfuscated IPv4 address; refuse rather than decode it.
        Some("reserved")
    } else if (s[0] == 0x2001 && s[1] == 0xdb8) || (s[0] == 0x100 && s[1..4] == [0, 0, 0]) {
        Some("documentation")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn private_and_special_addresses_are_refused() {
        for (addr, reason) in [
            ("127.0.0.1", "loopback"),
            ("127.8.9.10", "loopback"),
            ("10.0.0.1", "private"),
            ("172.16.5.4", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "cloud metadata"),
            ("169.254.1.1", "link-local"),
            ("100.100.100.200", "cloud metadata"),
            ("100.64.0.1", "shared (carrier-grade NAT)"),
            ("0.0.0.0", "unspecified"),
            ("224.0.0.1", "multicast"),
            ("255.255.255.255", "reserved"),
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("fe80::1", "link-local"),
            ("fd12:3456::1", "private"),
            ("fd00:ec2::254", "cloud metadata"),
            ("ff02::1", "multicast"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:169.254.169.254", "cloud metadata"),
            ("::ffff:10.1.2.3", "private"),
            ("64:ff9b::a00:1", "private"),
            ("2002:7f00:1::", "loopback"),
            ("2001:0:4136:e378::1", "reserved"),
        ] {
            assert_eq!(refusal(ip(addr)), Some(reason), "{addr}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for addr in [
            "93.184.215.14",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert_eq!(refusal(ip(addr)), None, "{addr}");
        }
    }

    #[test]
    fn the_allowlist_exempts_cidrs_addresses_and_host_names() {
        let allow = Allowlist::parse("127.0.0.0/8, ::1, images.internal, *.corp.example").unwrap();
        let guard = Guard::new(allow);
        assert!(guard.check("x", ip("127.0.0.1")).is_ok());
        assert!(guard.check("x", ip("::ffff:127.0.0.1")).is_ok());
        assert!(guard.check("x", ip("::1")).is_ok());
        assert!(guard.check("images.internal", ip("10.0.0.1")).is_ok());
        assert!(guard.check("cdn.corp.example", ip("10.0.0.1")).is_ok());
        assert!(guard.check("corp.example", ip("10.0.0.1")).is_err());
        let err = guard.check("evil.example", ip("10.0.0.1")).unwrap_err();
        assert!(err.to_string().contains("private"), "{err}");
        assert!(guard.check("x", ip("169.254.169.254")).is_err());
    }

    #[test]
    fn the_empty_allowlist_exempts_nothing_and_garbage_is_refused() {
        assert!(Allowlist::parse("").unwrap().is_empty());
        assert!(Allowlist::parse(" , ").unwrap().is_empty());
        assert!(Allowlist::parse("10.0.0.0/33").is_err());
        assert!(Allowlist::parse("exa mple").is_err());
        let guard = Guard::default();
        assert!(guard.check("localhost", ip("127.0.0.1")).is_err());
    }
}
