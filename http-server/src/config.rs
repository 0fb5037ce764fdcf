//! The server's limits: how much a client may send, how long it may take,
//! and how many connections and requests are held at once.

use std::time::Duration;

/// hyper refuses read buffers smaller than this (it panics below it).
pub const MIN_HEADER_BYTES: usize = 8192;

/// Every bound the server enforces. [`Config::default`] suits an endpoint
/// that receives small JSON documents from a few well-behaved senders.
#[derive(Clone, Debug)]
pub struct Config {
    /// Requests answered at once: the worker threads running the handler.
    pub workers: usize,
    /// Requests waiting for a worker, beyond which new ones get 503 with
    /// Retry-After (once their bodies were read).
    pub queue: usize,
    /// Connections open at once; at it, each new connection closes the
    /// oldest one with no request in progress (or, if every one has one,
    /// is itself closed). Each costs a descriptor and at most
    /// `max_header_bytes` of read buffer.
    pub max_connections: usize,
    /// Largest request head (request line and headers); past it, 431.
    /// Also the connection's read buffer. At least [`MIN_HEADER_BYTES`].
    pub max_header_bytes: usize,
    /// Most header fields in a request; past it, 431.
    pub max_headers: usize,
    /// Largest body; a larger declared Content-Length gets 413 before
    /// anything is read, a longer body 413 once the limit is passed.
    pub max_body_bytes: u64,
    /// Time a client has to send a request head (also how long an idle
    /// keep-alive connection stays open).
    pub header_timeout: Duration,
    /// Time a client has to send a whole body once its head arrived.
    pub body_timeout: Duration,
    /// Time a client may leave an answer unread before the connection is cut.
    pub write_timeout: Duration,
    /// Time in-flight requests get to finish after SIGTERM/SIGINT.
    pub drain_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            workers: 4,
            queue: 64,
            max_connections: 2048,
            max_header_bytes: 16 * 1024,
            max_headers: 64,
            max_body_bytes: 1 << 20,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
            drain_timeout: Duration::from_secs(30),
        }
    }
}

/// A limit that cannot work.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{0} must be at least 1")]
    Zero(&'static str),
    #[error("the header limit must be at least {MIN_HEADER_BYTES} bytes (got {0})")]
    HeaderBytes(usize),
    #[error("{0} must be a positive duration")]
    Duration(&'static str),
}

impl Config {
    /// Refuses limits the server cannot run with (rather than panicking in
    /// hyper or never answering).
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (name, value) in [
            ("workers", self.workers),
            ("max connections", self.max_connections),
            ("max headers", self.max_headers),
        ] {
            if value == 0 {
                return Err(ConfigError::Zero(name));
            }
        }
        if self.max_header_bytes < MIN_HEADER_BYTES {
            return Err(ConfigError::HeaderBytes(self.max_header_bytes));
        }
        for (name, value) in [
            ("the header timeout", self.header_timeout),
            ("the body timeout", self.body_timeout),
            ("the write timeout", self.write_timeout),
        ] {
            if value.is_zero() {
                return Err(ConfigError::Duration(name));
            }
        }
        Ok(())
    }

    /// Requests handed to the workers at once: running or waiting for one.
    /// Bodies in memory (being read, waiting or running) together hold at
    /// most this many times `max_body_bytes`.
    pub fn requests_in_flight(&self) -> usize {
        self.workers + self.queue
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_bad_limits_are_refused() {
        assert_eq!(Config::default().validate(), Ok(()));
        let small = Config {
            max_header_bytes: 100,
            ..Config::default()
        };
        assert_eq!(small.validate(), Err(ConfigError::HeaderBytes(100)));
        let no_workers = Config {
            workers: 0,
            ..Config::default()
        };
        assert_eq!(no_workers.validate(), Err(ConfigError::Zero("workers")));
        let no_time = Config {
            body_timeout: Duration::ZERO,
            ..Config::default()
        };
        assert_eq!(
            no_time.validate(),
            Err(ConfigError::Duration("the body timeout"))
        );
    }
}
