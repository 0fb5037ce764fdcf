//! What hostile senders try against the edge, each reproduction a test
//! against the real binary on loopback: the HTTP server's limits, SNS
//! authentication, where signed requests may go, and what an event may make
//! the lake do. None of these may be weakened.

#[path = "support/common.rs"]
mod common;
#[path = "support/events.rs"]
mod events;
#[path = "support/servers.rs"]
mod servers;

mod hostile {
    pub mod events;
    pub mod http;
    pub mod outcomes;
    pub mod sns;
}
