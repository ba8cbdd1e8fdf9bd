//! A client's view of leadership, refreshed from brokers (`Metadata` in Kafka's clients).
//!
//! Any broker answers with its own image, which may be stale (a zombie leader's view);
//! the client keeps the newest version it has seen and asks again, round robin over
//! the bootstrap brokers, when a request fails or goes unanswered. It also keeps the
//! client's [`ConnectionStates`]: a broker whose connection was reset or refused is not
//! asked (nor sent anything else) until its reconnect backoff ends, and every disconnect
//! asks for fresh metadata (`NetworkClient`'s `handleServerDisconnect`).

use crate::core::Effect;
use crate::core::connection_states::ConnectionStates;
use crate::core::message::{Message, MetadataImage};
use crate::types::{BrokerId, LeaderEpoch, NodeId, PartitionId, SimTime};

/// How long a metadata request may go unanswered before another broker is asked.
pub const METADATA_REQUEST_TIMEOUT_MS: u64 = 1_000;
/// Least time between two metadata requests (`retry.backoff.ms`).
pub const METADATA_REFRESH_BACKOFF_MS: u64 = 100;

/// Leadership as a client knows it.
#[derive(Clone, Debug, Default)]
pub struct ClientMetadata {
    image: MetadataImage,
    bootstrap: Vec<BrokerId>,
    next_broker: usize,
    in_flight: Option<(u64, SimTime, BrokerId)>,
    next_correlation: u64,
    refresh_wanted: bool,
    last_sent: Option<SimTime>,
    connections: ConnectionStates,
}

impl ClientMetadata {
    /// A view that knows only the bootstrap brokers, reconnecting after
    /// `reconnect_backoff_ms` (doubling up to a second) when a connection fails.
    pub fn new(
        bootstrap: Vec<BrokerId>,
        first: usize,
        reconnect_backoff_ms: u64,
    ) -> ClientMetadata {
        ClientMetadata {
            next_broker: first,
            bootstrap,
            refresh_wanted: true,
            connections: ConnectionStates::new(reconnect_backoff_ms),
            ..ClientMetadata::default()
        }
    }

    /// The connection to `broker` ended at `now`: no new connection before its backoff
    /// ends, a metadata request in flight to it is given up, and metadata is refreshed.
    pub fn on_disconnect(&mut self, now: SimTime, broker: BrokerId) {
        self.connections.on_failure(now, broker);
        if self.in_flight.is_some_and(|(_, _, to)| to == broker) {
            self.in_flight = None;
            self.last_sent = None; // ask another broker at once
        }
        self.refresh_wanted = true;
    }

    /// `broker` answered: its connection works.
    pub fn on_answer(&mut self, broker: BrokerId) {
        self.connections.on_answer(broker);
    }

    /// Until when nothing may be sent to `broker` (None: now).
    pub fn blocked_until(&self, now: SimTime, broker: BrokerId) -> Option<SimTime> {
        self.connections.blocked_until(now, broker)
    }

    /// The leader and leader epoch of `partition`, if known.
    pub fn leader(&self, partition: PartitionId) -> Option<(BrokerId, LeaderEpoch)> {
        let registration = self.image.partition(partition)?;
        registration.leader.map(|l| (l, registration.leader_epoch))
    }

    /// Asks for a refresh at the next opportunity.
    pub fn invalidate(&mut self) {
        self.refresh_wanted = true;
    }

    /// Sends a metadata request if one is wanted and none is outstanding.
    pub fn poll(&mut self, now: SimTime, out: &mut Vec<Effect>) {
        if self
            .in_flight
            .is_some_and(|(_, deadline, _)| now >= deadline)
        {
            self.in_flight = None;
            self.refresh_wanted = true;
        }
        if !self.refresh_wanted || self.in_flight.is_some() || self.bootstrap.is_empty() {
            return;
        }
        if self
            .last_sent
            .is_some_and(|t| now < t.plus_ms(METADATA_REFRESH_BACKOFF_MS))
        {
            return;
        }
        // The next bootstrap broker in turn that is not in its reconnect backoff (Kafka's
        // `leastLoadedNode` skips blacked-out nodes); when all are, wait for the first.
        let n = self.bootstrap.len();
        let Some(skip) = (0..n).find(|i| {
            let b = self.bootstrap[(self.next_broker + i) % n];
            self.connections.blocked_until(now, b).is_none()
        }) else {
            return;
        };
        self.last_sent = Some(now);
        let broker = self.bootstrap[(self.next_broker + skip) % n];
        self.next_broker += skip + 1;
        self.next_correlation += 1;
        self.in_flight = Some((
            self.next_correlation,
            now.plus_ms(METADATA_REQUEST_TIMEOUT_MS),
            broker,
        ));
        self.refresh_wanted = false;
        out.push(Effect::Send {
            to: NodeId::Broker(broker),
            message: Message::MetadataRequest {
                correlation: self.next_correlation,
            },
        });
    }

    /// Applies an answer; returns whether the view changed.
    pub fn on_response(&mut self, correlation: u64, image: MetadataImage) -> bool {
        if self.in_flight.map(|(c, _, _)| c) == Some(correlation) {
            self.in_flight = None;
        }
        if image.version <= self.image.version {
            return false;
        }
        self.image = image;
        true
    }

    /// When the outstanding request times out, or the next wanted request may go.
    pub fn deadline(&self) -> Option<SimTime> {
        match (self.in_flight, self.last_sent) {
            (Some((_, at, _)), _) => Some(at),
            (None, last) if self.refresh_wanted => {
                let backoff = last.map(|sent| sent.plus_ms(METADATA_REFRESH_BACKOFF_MS));
                // Every bootstrap broker in a backoff: wait for the first to come out. (A
                // backoff that already ended makes this a past time, and `poll`, which
                // runs at every wake-up, then sends: no busy loop.)
                let unblocked = self.connections.all_blocked_until(&self.bootstrap);
                match (backoff, unblocked) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (a, b) => a.or(b),
                }
            }
            _ => None,
        }
    }
}

/// A metadata image of one partition (id 0) on brokers 1 and 2, led by `leader`, with
/// `version`: for the clients' tests.
#[cfg(test)]
pub(crate) fn test_image(version: u64, leader: u8) -> MetadataImage {
    use crate::core::metadata::PartitionRegistration;
    use crate::types::PartitionEpoch;
    MetadataImage {
        version,
        partitions: vec![PartitionRegistration {
            partition: PartitionId(0),
            replicas: vec![BrokerId(1), BrokerId(2)],
            leader: Some(BrokerId(leader)),
            leader_epoch: LeaderEpoch(0),
            partition_epoch: PartitionEpoch(0),
            isr: vec![BrokerId(1), BrokerId(2)],
            elr: vec![],
            last_known_elr: vec![],
            recovering: false,
        }],
        brokers: vec![],
    }
}
