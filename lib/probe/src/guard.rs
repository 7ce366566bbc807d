//! The SSRF guard: which resolved addresses a check may connect to.
//!
//! The guard looks at addresses *after* DNS resolution, so a public-looking hostname
//! that resolves to `127.0.0.1` is caught, and the prober connects only to the
//! addresses that passed (no second lookup between check and connect).
//!
//! Cloud metadata endpoints are refused always; every other non-public range is
//! refused unless [`ProbeSettings::allow_private`](crate::ProbeSettings) is set
//! (self-hosted monitors of a home network or `localhost`).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What kind of address an IP is, as far as the guard cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressClass {
    /// A publicly routable address: always allowed.
    Public,
    /// A cloud metadata service (AWS/GCP/Azure `169.254.169.254`, ECS task metadata
    /// `169.254.170.2`, EKS pod identity, Alibaba `100.100.100.200`, AWS `fd00:ec2::254`):
    /// always refused, whatever the settings.
    Metadata,
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// `10/8`, `172.16/12`, `192.168/16`, benchmarking `198.18/15` and `2001:2::/48`,
    /// deprecated site-local `fec0::/10`, and Teredo `2001::/32` (a tunnel to an
    /// arbitrary IPv4 address).
    Private,
    /// `169.254/16`, `fe80::/10`.
    LinkLocal,
    /// Carrier-grade NAT shared space `100.64/10`.
    SharedCgnat,
    /// IPv6 unique local `fc00::/7`.
    UniqueLocal,
    /// `0.0.0.0/8` ("this network", reaches the local host on Linux) and `::`.
    Unspecified,
    /// `255.255.255.255`.
    Broadcast,
    /// `224/4`, `ff00::/8`.
    Multicast,
    /// `240/4` (reserved, not routable), IETF protocol assignments `192.0.0/24`, and the
    /// documentation ranges `192.0.2/24`, `198.51.100/24`, `203.0.113/24`, `2001:db8::/32`.
    Reserved,
}

impl AddressClass {
    /// Whether an address of this class may be connected to under these settings.
    pub fn is_allowed(self, allow_private: bool) -> bool {
        match self {
            Self::Public => true,
            Self::Metadata => false,
            _ => allow_private,
        }
    }

    /// Phrase used in messages: "127.0.0.1 is a loopback address".
    pub fn describe(self) -> &'static str {
        match self {
            Self::Public => "a public address",
            Self::Metadata => "a cloud metadata address",
            Self::Loopback => "a loopback address",
            Self::Private => "a private address",
            Self::LinkLocal => "a link-local address",
            Self::SharedCgnat => "a carrier-grade NAT address",
            Self::UniqueLocal => "a unique local IPv6 address",
            Self::Unspecified => "an unspecified address",
            Self::Broadcast => "a broadcast address",
            Self::Multicast => "a multicast address",
            Self::Reserved => "a reserved address",
        }
    }
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

const METADATA_V4: [Ipv4Addr; 4] = [
    Ipv4Addr::new(169, 254, 169, 254),
    Ipv4Addr::new(169, 254, 170, 2),
    Ipv4Addr::new(169, 254, 170, 23),
    Ipv4Addr::new(100, 100, 100, 200),
];

const METADATA_V6: [Ipv6Addr; 2] = [
    Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x254),
    Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x23),
];

/// Classifies an address. IPv6 forms that carry an IPv4 address (IPv4-mapped
/// `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4
/// `2002:aabb:ccdd::/48`) are judged by the IPv4 address inside, so
/// `::ffff:169.254.169.254` and `2002:a9fe:a9fe::` are metadata.
pub fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

/// `Ok` when the guard lets a check connect to `ip`, else the class that refused it.
pub fn check(ip: IpAddr, allow_private: bool) -> Result<(), AddressClass> {
    let class = classify(ip);
    if class.is_allowed(allow_private) {
        Ok(())
    } else {
        Err(class)
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    let [a, b, c, _] = ip.octets();
    if METADATA_V4.contains(&ip) {
        AddressClass::Metadata
    } else if a == 0 {
        AddressClass::Unspecified
    } else if ip.is_loopback() {
        AddressClass::Loopback
    } else if ip.is_private() {
        AddressClass::Private
    } else if ip.is_link_local() {
        AddressClass::LinkLocal
    } else if a == 100 && (b & 0xc0) == 64 {
        AddressClass::SharedCgnat
    } else if ip.is_broadcast() {
        AddressClass::Broadcast
    } else if ip.is_multicast() {
        AddressClass::Multicast
    } else if a == 198 && (b & 0xfe) == 18 {
        // Benchmarking 198.18.0.0/15 (RFC 2544).
        AddressClass::Private
    } else if a >= 240
        // IETF protocol assignments 192.0.0.0/24 and documentation 192.0.2.0/24.
        || (a == 192 && b == 0 && (c == 0 || c == 2))
        // Documentation 198.51.100.0/24 and 203.0.113.0/24.
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
    {
        AddressClass::Reserved
    } else {
        AddressClass::Public
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    if let Some(v4) = embedded_v4(ip) {
        return classify_v4(v4);
    }
    let s = ip.segments();
    let first = s[0];
    if METADATA_V6.contains(&ip) {
        AddressClass::Metadata
    } else if ip.is_unspecified() {
        AddressClass::Unspecified
    } else if ip.is_loopback() {
        AddressClass::Loopback
    } else if (first & 0xffc0) == 0xfe80 {
        AddressClass::LinkLocal
    } else if (first & 0xfe00) == 0xfc00 {
        AddressClass::UniqueLocal
    } else if ip.is_multicast() {
        AddressClass::Multicast
    } else if (first & 0xffc0) == 0xfec0
        // Teredo 2001::/32: tunnels to an arbitrary (possibly internal) IPv4 address.
        || (first == 0x2001 && s[1] == 0)
        // Benchmarking 2001:2::/48 (RFC 5180).
        || (first == 0x2001 && s[1] == 2 && s[2] == 0)
    {
        AddressClass::Private
    } else if first == 0x2001 && s[1] == 0x0db8 {
        // Documentation 2001:db8::/32.
        AddressClass::Reserved
    } else {
        AddressClass::Public
    }
}

/// The IPv4 address carried by an IPv4-mapped, IPv4-compatible, NAT64 or 6to4 address.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = ip.segments();
    let tail = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    // IPv4-compatible (deprecated, `::a.b.c.d`), but not `::` and `::1` themselves.
    if s[..6] == [0; 6] && !ip.is_unspecified() && !ip.is_loopback() {
        return Some(tail);
    }
    // NAT64 well-known prefix 64:ff9b::/96: a NAT64 gateway forwards it to the IPv4 address.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(tail);
    }
    // 6to4 2002::/16: the relay forwards to the IPv4 address in bits 16..48.
    if s[0] == 0x2002 {
        let [a, b] = s[1].to_be_bytes();
        let [c, d] = s[2].to_be_bytes();
        return Some(Ipv4Addr::new(a, b, c, d));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_addresses_by_their_range() {
        use AddressClass::*;
        let table: &[(&str, AddressClass)] = &[
            ("8.8.8.8", Public),
            ("1.1.1.1", Public),
            ("93.184.216.34", Public),
            ("169.254.169.254", Metadata),
            ("169.254.170.2", Metadata),
            ("169.254.170.23", Metadata),
            ("100.100.100.200", Metadata),
            ("fd00:ec2::254", Metadata),
            ("fd00:ec2::23", Metadata),
            ("::ffff:169.254.169.254", Metadata),
            ("::ffff:169.254.170.2", Metadata),
            ("::169.254.169.254", Metadata),
            ("64:ff9b::169.254.169.254", Metadata),
            ("127.0.0.1", Loopback),
            ("127.255.255.254", Loopback),
            ("::1", Loopback),
            ("::ffff:127.0.0.1", Loopback),
            ("10.0.0.1", Private),
            ("::ffff:10.0.0.1", Private),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("172.32.0.1", Public),
            ("192.168.1.1", Private),
            ("169.254.1.1", LinkLocal),
            ("fe80::1", LinkLocal),
            ("febf::1", LinkLocal),
            ("100.64.0.1", SharedCgnat),
            ("100.127.255.255", SharedCgnat),
            ("100.128.0.1", Public),
            ("100.63.255.255", Public),
            ("fc00::1", UniqueLocal),
            ("fd12:3456::1", UniqueLocal),
            ("0.0.0.0", Unspecified),
            ("0.1.2.3", Unspecified),
            ("::", Unspecified),
            ("::2", Unspecified),
            ("::ffff:0.0.0.0", Unspecified),
            ("255.255.255.255", Broadcast),
            ("224.0.0.1", Multicast),
            ("ff02::1", Multicast),
            ("240.0.0.1", Reserved),
            ("2606:4700:4700::1111", Public),
            ("2001:4860:4860::8888", Public),
            // 6to4 2002::/16: judged by the IPv4 address in bits 16..48
            ("2002:a9fe:a9fe::", Metadata),
            ("2002:a9fe:a9fe:1:2:3:4:5", Metadata),
            ("2002:a9fe:aa02::", Metadata),
            ("2002:7f00:1::", Loopback),
            ("2002:0a00:0001::1", Private),
            ("2002:c0a8:0101::", Private),
            ("2002:a9fe:0101::", LinkLocal),
            ("2002:6440:0001::", SharedCgnat),
            ("2002::", Unspecified),
            ("2002:ffff:ffff::", Broadcast),
            ("2002:e000:0001::", Multicast),
            ("2002:c612:0001::", Private),
            ("2002:c000:0201::", Reserved),
            ("2002:0808:0808::1", Public),
            ("2001:470::1", Public),
            ("2003::1", Public),
            // Teredo 2001::/32
            ("2001::1", Private),
            ("2001:0:4136:e378:8000:63bf:3fff:fdd2", Private),
            ("2001:0:ffff:ffff:ffff:ffff:ffff:ffff", Private),
            ("2001:1::1", Public),
            // Benchmarking 2001:2::/48
            ("2001:2::1", Private),
            ("2001:2:0:ffff::1", Private),
            ("2001:2:1::1", Public),
            // Deprecated site-local fec0::/10
            ("fec0::1", Private),
            ("feff:ffff::1", Private),
            // Documentation 2001:db8::/32
            ("2001:db8::1", Reserved),
            ("2001:db8:ffff:ffff::1", Reserved),
            ("2001:db9::1", Public),
            // Benchmarking 198.18.0.0/15
            ("198.18.0.1", Private),
            ("198.19.255.255", Private),
            ("198.17.255.255", Public),
            ("198.20.0.0", Public),
            ("::ffff:198.18.0.1", Private),
            // IETF protocol assignments 192.0.0.0/24
            ("192.0.0.1", Reserved),
            ("192.0.0.255", Reserved),
            ("192.0.1.1", Public),
            // Documentation 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24
            ("192.0.2.1", Reserved),
            ("192.0.3.1", Public),
            ("198.51.100.7", Reserved),
            ("198.51.101.1", Public),
            ("203.0.113.9", Reserved),
            ("203.0.114.1", Public),
            ("64:ff9b::203.0.113.9", Reserved),
        ];
        for (raw, want) in table {
            let ip: IpAddr = raw.parse().unwrap();
            assert_eq!(classify(ip), *want, "{raw}");
        }
    }

    #[test]
    fn metadata_is_refused_even_when_private_targets_are_allowed() {
        for raw in [
            "169.254.169.254",
            "::ffff:169.254.169.254",
            "fd00:ec2::254",
            "169.254.170.2",
            "2002:a9fe:a9fe::",
            "2002:a9fe:a9fe:ffff::1",
            "2002:6464:64c8::",
        ] {
            let ip: IpAddr = raw.parse().unwrap();
            assert_eq!(check(ip, true), Err(AddressClass::Metadata), "{raw}");
            assert_eq!(check(ip, false), Err(AddressClass::Metadata), "{raw}");
        }
    }

    #[test]
    fn private_ranges_depend_on_the_setting() {
        for raw in [
            "127.0.0.1",
            "::1",
            "10.0.0.1",
            "::ffff:10.0.0.1",
            "192.168.0.10",
            "100.64.1.1",
            "fd00::1",
            "fe80::1",
            "0.0.0.0",
            "::",
            "2002:7f00:1::",
            "2002:a00:1::",
            "2001::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "fec0::1",
            "2001:db8::1",
            "198.18.0.1",
            "192.0.0.8",
            "192.0.2.1",
            "198.51.100.1",
            "203.0.113.1",
        ] {
            let ip: IpAddr = raw.parse().unwrap();
            assert!(check(ip, true).is_ok(), "{raw} allowed when private is on");
            assert!(
                check(ip, false).is_err(),
                "{raw} refused when private is off"
            );
        }
        assert!(check("8.8.8.8".parse().unwrap(), false).is_ok());
        assert!(check("2001:4860:4860::8888".parse().unwrap(), false).is_ok());
        // 6to4 wrapping a public IPv4 address is as public as the address itself.
        assert!(check("2002:808:808::".parse().unwrap(), false).is_ok());
    }
}
