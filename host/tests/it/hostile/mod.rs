//! What hostile senders try against the edge, each reproduction a test
//! against the real binary on loopback: the HTTP server's limits, SNS
//! authentication, where signed requests may go, and what an event may make
//! the lake do. None of these may be weakened.

mod events;
mod http;
mod outcomes;
mod sns;
