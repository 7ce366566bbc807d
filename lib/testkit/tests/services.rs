//! The test servers start on demand and accept connections.

use std::net::TcpStream;

fn port_of(url: &str) -> u16 {
    let after_host = url.split("127.0.0.1:").nth(1).expect("a loopback URL");
    let digits: String = after_host
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().expect("a port")
}

#[test]
fn servers_start_and_accept_connections() {
    for url in [
        sentinel_testkit::services::postgres_url(),
        sentinel_testkit::services::mongodb_uri(),
        sentinel_testkit::services::aws_endpoint(),
    ] {
        TcpStream::connect(("127.0.0.1", port_of(url)))
            .unwrap_or_else(|e| panic!("{url} does not accept connections: {e}"));
    }
}
