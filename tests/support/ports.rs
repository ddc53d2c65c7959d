//! Ports for the services a test starts.
//!
//! A port the kernel hands out for `bind(0)` comes from the ephemeral
//! range, which every outgoing connection on the machine also draws from:
//! between the harness closing its probe and the service binding the port,
//! a connection to PostgreSQL or RabbitMQ from another test may take it.
//! Ports are therefore drawn at random from just below that range, where
//! only listeners live, and checked free; a service that still loses its
//! port is started again on another (see `Stack`).

use anyhow::Result;
use std::net::TcpListener;

/// How many ports below the ephemeral range the draw uses.
const SPAN: u16 = 10_000;

/// The first port of the kernel's ephemeral range (Linux's default when
/// it cannot be read).
fn ephemeral_start() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768)
}

/// A port on 127.0.0.1 that is free now and outside the ephemeral range.
pub fn free_port() -> Result<u16> {
    let top = ephemeral_start();
    if top > SPAN + 1024 {
        for _ in 0..200 {
            // Random enough to keep parallel test processes apart.
            let draw = uuid::Uuid::new_v4().as_u128() % u128::from(SPAN);
            let port = top - SPAN + draw as u16;
            if TcpListener::bind(("127.0.0.1", port)).is_ok() {
                return Ok(port);
            }
        }
    }
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Whether what a service logged says it lost its port to another process.
pub fn lost_port(log: &str) -> bool {
    log.contains("Address already in use") || log.contains("AddrInUse")
}

/// Whether process `pid` itself listens on `port`, read from Linux's
/// socket tables: a port that answers may belong to another test's
/// service, which took it first.
pub fn listens(pid: u32, port: u16) -> bool {
    let inodes = listening_inodes(port);
    if inodes.is_empty() {
        return false;
    }
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten().any(|fd| {
        std::fs::read_link(fd.path()).is_ok_and(|target| {
            let target = target.to_string_lossy();
            inodes.iter().any(|i| target == format!("socket:[{i}]"))
        })
    })
}

/// The inodes of the sockets listening on `port` (IPv4 and IPv6).
fn listening_inodes(port: u16) -> Vec<String> {
    let wanted = format!(":{port:04X}");
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(table).ok())
        .flat_map(|text| {
            text.lines()
                .skip(1)
                .filter_map(|line| {
                    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
                    let f: Vec<&str> = line.split_whitespace().collect();
                    let listening = f.get(3) == Some(&"0A");
                    let ours = f.get(1).is_some_and(|a| a.ends_with(&wanted));
                    (listening && ours).then(|| f.get(9).map(|s| s.to_string()))?
                })
                .collect::<Vec<_>>()
        })
        .collect()
}
