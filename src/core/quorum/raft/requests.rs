//! Outbound request bookkeeping (Kafka's `RequestManager`): at most one request in flight
//! per destination, a request timeout, and a retry backoff after a failure or timeout.
//!
//! Invariants: a response is handled only if it answers the one request in flight to its
//! sender (`isResponseExpected`); every transition forgets all requests (`resetAll`), so a
//! response to a request sent in an earlier role is dropped.

use std::collections::BTreeMap;

use crate::types::SimTime;

use super::ReplicaId;
use super::message::CorrelationId;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Connection {
    Awaiting {
        correlation: CorrelationId,
        deadline: SimTime,
    },
    BackingOff {
        until: SimTime,
    },
}

/// Per-destination request state; a destination absent from the map is ready.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct RequestManager<I> {
    connections: BTreeMap<I, Connection>,
    request_timeout_ms: u64,
    retry_backoff_ms: u64,
}

impl<I: ReplicaId> RequestManager<I> {
    pub(super) fn new(request_timeout_ms: u64, retry_backoff_ms: u64) -> RequestManager<I> {
        RequestManager {
            connections: BTreeMap::new(),
            request_timeout_ms,
            retry_backoff_ms,
        }
    }

    /// Turns timed-out requests into backoffs and ends expired backoffs.
    pub(super) fn expire(&mut self, now: SimTime) {
        let retry_ms = self.retry_backoff_ms;
        for connection in self.connections.values_mut() {
            if let Connection::Awaiting { deadline, .. } = *connection
                && now >= deadline
            {
                *connection = Connection::BackingOff {
                    until: deadline.plus_ms(retry_ms),
                };
            }
        }
        self.connections
            .retain(|_, c| !matches!(*c, Connection::BackingOff { until } if now >= until));
    }

    /// No request in flight to `destination` and no backoff (`isReady`).
    pub(super) fn is_ready(&self, destination: I) -> bool {
        !self.connections.contains_key(&destination)
    }

    /// Any request in flight at all (`hasAnyInflightRequest`).
    pub(super) fn any_in_flight(&self) -> bool {
        let awaiting = |c: &Connection| matches!(c, Connection::Awaiting { .. });
        self.connections.values().any(awaiting)
    }

    /// A request went out (`onRequestSent`).
    pub(super) fn on_sent(&mut self, destination: I, correlation: CorrelationId, now: SimTime) {
        assert!(
            self.is_ready(destination),
            "one request in flight per destination"
        );
        let deadline = now.plus_ms(self.request_timeout_ms);
        self.connections.insert(
            destination,
            Connection::Awaiting {
                correlation,
                deadline,
            },
        );
    }

    /// The response from `source` answers the request in flight to it.
    pub(super) fn is_expected(&self, source: I, correlation: CorrelationId) -> bool {
        match self.connections.get(&source) {
            Some(Connection::Awaiting { correlation: c, .. }) => *c == correlation,
            _ => false,
        }
    }

    /// The response was handled (`onResponseResult`): ready again, or back off on failure.
    /// A no-op if that request is no longer the one in flight.
    pub(super) fn on_response(
        &mut self,
        source: I,
        correlation: CorrelationId,
        now: SimTime,
        ok: bool,
    ) {
        if !self.is_expected(source, correlation) {
            return;
        }
        if ok {
            self.connections.remove(&source);
        } else {
            let until = now.plus_ms(self.retry_backoff_ms);
            self.connections
                .insert(source, Connection::BackingOff { until });
        }
    }

    /// The connection to `destination` ended (`NetworkClient` fails what was in flight
    /// on it): a request in flight there fails now and backs off. Returns whether one did.
    pub(super) fn on_disconnect(&mut self, destination: I, now: SimTime) -> bool {
        if !matches!(
            self.connections.get(&destination),
            Some(Connection::Awaiting { .. })
        ) {
            return false;
        }
        let until = now.plus_ms(self.retry_backoff_ms);
        self.connections
            .insert(destination, Connection::BackingOff { until });
        true
    }

    /// Whether requests to `destination` are backing off after a failure or timeout.
    pub(super) fn is_backing_off(&self, destination: I) -> bool {
        matches!(
            self.connections.get(&destination),
            Some(Connection::BackingOff { .. })
        )
    }

    /// Forgets every request (`resetAll`).
    pub(super) fn reset_all(&mut self) {
        self.connections.clear();
    }

    /// When a timeout or backoff ends next.
    pub(super) fn next_wake(&self) -> Option<SimTime> {
        let wake = |c: &Connection| match *c {
            Connection::Awaiting { deadline, .. } => deadline,
            Connection::BackingOff { until } => until,
        };
        self.connections.values().map(wake).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_request_in_flight_then_timeout_then_backoff() {
        let mut requests = RequestManager::<u8>::new(2_000, 20);
        let t0 = SimTime::from_ms(100);
        assert!(requests.is_ready(2));
        requests.on_sent(2, CorrelationId(7), t0);
        assert!(!requests.is_ready(2));
        assert!(requests.any_in_flight());
        assert!(requests.is_expected(2, CorrelationId(7)));
        assert!(!requests.is_expected(2, CorrelationId(6)));
        assert!(!requests.is_expected(3, CorrelationId(7)));
        assert_eq!(requests.next_wake(), Some(t0.plus_ms(2_000)));
        requests.expire(t0.plus_ms(2_000));
        assert!(!requests.is_ready(2), "a timed-out request backs off first");
        assert!(
            !requests.is_expected(2, CorrelationId(7)),
            "a timed-out response is dropped"
        );
        assert_eq!(requests.next_wake(), Some(t0.plus_ms(2_020)));
        requests.expire(t0.plus_ms(2_020));
        assert!(requests.is_ready(2));
        assert_eq!(requests.next_wake(), None);
    }

    #[test]
    fn response_result_and_reset() {
        let mut requests = RequestManager::<u8>::new(2_000, 20);
        let t0 = SimTime::from_ms(0);
        requests.on_sent(2, CorrelationId(1), t0);
        requests.on_sent(3, CorrelationId(2), t0);
        requests.on_response(2, CorrelationId(1), t0.plus_ms(5), true);
        assert!(requests.is_ready(2));
        requests.on_response(3, CorrelationId(9), t0.plus_ms(5), false);
        assert!(!requests.is_ready(3), "a stale response changes nothing");
        requests.on_response(3, CorrelationId(2), t0.plus_ms(5), false);
        assert!(!requests.is_ready(3));
        assert!(!requests.any_in_flight());
        requests.reset_all();
        assert!(requests.is_ready(3));
    }
}
