//! A client's view of leadership, refreshed from brokers (`Metadata` in Kafka's clients).
//!
//! Any broker answers with its own image, which may be stale (a zombie leader's view);
//! the client keeps the newest version it has seen and asks again, round robin over
//! the bootstrap brokers, when a request fails or goes unanswered.

use crate::core::Effect;
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
    in_flight: Option<(u64, SimTime)>,
    next_correlation: u64,
    refresh_wanted: bool,
    last_sent: Option<SimTime>,
}

impl ClientMetadata {
    /// A view that knows only the bootstrap brokers.
    pub fn new(bootstrap: Vec<BrokerId>, first: usize) -> ClientMetadata {
        ClientMetadata {
            next_broker: first,
            bootstrap,
            refresh_wanted: true,
            ..ClientMetadata::default()
        }
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
        if self.in_flight.is_some_and(|(_, deadline)| now >= deadline) {
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
        self.last_sent = Some(now);
        let broker = self.bootstrap[self.next_broker % self.bootstrap.len()];
        self.next_broker += 1;
        self.next_correlation += 1;
        self.in_flight = Some((
            self.next_correlation,
            now.plus_ms(METADATA_REQUEST_TIMEOUT_MS),
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
        if self.in_flight.map(|(c, _)| c) == Some(correlation) {
            self.in_flight = None;
        }
        if image.version <= self.image.version {
            return false;
        }
        self.image = image;
        true
    }

    /// When the outstanding request times out.
    pub fn deadline(&self) -> Option<SimTime> {
        match (self.in_flight, self.last_sent) {
            (Some((_, at)), _) => Some(at),
            (None, Some(sent)) if self.refresh_wanted => {
                Some(sent.plus_ms(METADATA_REFRESH_BACKOFF_MS))
            }
            _ => None,
        }
    }
}
